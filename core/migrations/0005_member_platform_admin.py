from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0004_statistics_indexes')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Member',
            name='platform_admin',
            field=fields.BooleanField(default=False),
        ),
    ]
