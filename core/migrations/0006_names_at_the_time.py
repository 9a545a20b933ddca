from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0005_member_platform_admin')]

    initial = False

    operations = [
        ops.AddField(
            model_name='ThanksRecipient',
            name='sender_name',
            field=fields.CharField(default='', max_length=255),
        ),
        ops.AddField(
            model_name='ThanksRecipient',
            name='recipient_name',
            field=fields.CharField(default='', max_length=255),
        ),
    ]
