"""Everything that speaks the Bot Framework protocol through botbuilder: the HTTP endpoint and its
authentication (``adapter``), the activity handler (``handler``), reading activities (``activity``),
the SDK's work-arounds (``sdk``, ``wire``) and the test kit (``testing``). No other module of the
Teams adapter imports botbuilder (an import-linter contract says so), so replacing the SDK touches
this package only."""
