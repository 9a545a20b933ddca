"""The CSV export shows each thanks as it was: names and departments at that moment."""

from __future__ import annotations

import csv
import io

from core.services.export import export_csv
from core.services.members import Person, ensure_members, set_department
from core.services.thanks import give_thanks


async def test_names_and_departments_are_those_at_the_time(workspace, alice, bob, admin):
    await set_department(workspace, admin, bob, "Sales")
    await give_thanks(workspace, alice, [bob], "for the demo")
    # Later, both are renamed (Teams and Discord refresh names on every event) and Bob moves.
    await ensure_members(workspace, [Person("alice", "Alice Smith"), Person("bob", "Bob Jones")])
    await set_department(workspace, admin, bob, "Engineering")
    text = "".join([chunk async for chunk in export_csv([workspace])])
    (row,) = csv.DictReader(io.StringIO(text))
    assert (row["sender_name"], row["recipient_name"], row["recipient_department"]) == ("Alice", "Bob", "Sales")
