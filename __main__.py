"""platescan on AWS: read the stack's configuration, compose the components, export outputs.

Two values flow "backwards" and are wired with deferred outputs: the uploads bucket's and the
API's CORS need the website's origin (its CloudFront domain), and the website's config.json
needs the API's URL. Neither forms a cycle between resources, only between constructors.
"""

from collections.abc import Callable

import pulumi

from infra import config
from infra.alerts import Alerts, AlertsArgs
from infra.api import Api, ApiArgs
from infra.auth import Auth, AuthArgs
from infra.monitoring import Monitoring, MonitoringArgs
from infra.pipeline import Pipeline, PipelineArgs
from infra.storage import Storage, StorageArgs
from infra.website import Website, WebsiteArgs

cfg = config.load()
site_origin: pulumi.Output[str]
resolve_site_origin: Callable[[pulumi.Output[str]], None]
api_url: pulumi.Output[str]
resolve_api_url: Callable[[pulumi.Output[str]], None]
site_origin, resolve_site_origin = pulumi.deferred_output()
api_url, resolve_api_url = pulumi.deferred_output()

storage = Storage("platescan", StorageArgs(config=cfg, site_origin=site_origin))
auth = Auth("platescan", AuthArgs(config=cfg))
website = Website(
    "platescan",
    WebsiteArgs(config=cfg, uploads_bucket=storage.uploads.bucket, api_url=api_url, auth=auth),
)
resolve_site_origin(website.origin)
alerts = Alerts("platescan", AlertsArgs(config=cfg))
pipeline = Pipeline("platescan", PipelineArgs(config=cfg, storage=storage, alerts=alerts))
api = Api(
    "platescan",
    ApiArgs(
        config=cfg,
        storage=storage,
        layer_arn=pipeline.layer.arn,
        site_origin=website.origin,
        auth=auth,
        alerts=alerts,
    ),
)
resolve_api_url(api.url)
monitoring = Monitoring(
    "platescan",
    MonitoringArgs(
        config=cfg,
        state_machine_arn=pipeline.state_machine.arn,
        dead_letter_queue_name=pipeline.dead_letter_queue.name,
        alerts_dead_letter_queue_name=alerts.dead_letter_queue.name,
        function_names={
            **{fn: f.function.name for fn, f in pipeline.functions.items()},
            "api": api.handler.function.name,
        },
        rule_names={
            "uploads": pipeline.upload_rule.name,
            "failed-executions": pipeline.failure_rule.name,
            "plate-matched": alerts.rule.name,
        },
    ),
)

pulumi.export("site_url", website.url)
pulumi.export("api_url", api.url)
pulumi.export("uploads_bucket", storage.uploads.bucket.bucket)
pulumi.export("results_table", storage.table.name)
pulumi.export("state_machine_arn", pipeline.state_machine.arn)
pulumi.export("user_pool_id", auth.user_pool_id)
pulumi.export("user_pool_client_id", auth.client_id)
# What `python -m platescan replay-dlq` needs to put dead letters back where they belong.
pulumi.export("dead_letter_queue_url", pipeline.dead_letter_queue.url)
pulumi.export("mark_failed_function", pipeline.functions["mark_failed"].function.name)
# and the alerts' undelivered "Plate Matched" events, put back on `event_bus`
pulumi.export("alerts_dead_letter_queue_url", alerts.dead_letter_queue.url)
pulumi.export("alarm_topic_arn", monitoring.topic.arn)
# An empty alarm address is allowed, and said here so nobody believes alarms reach them.
pulumi.export(
    "alarm_email",
    cfg.alarm_email or "none: alarms reach only the SNS topic (alarm_topic_arn); subscribe to it",
)
pulumi.export("event_bus", alerts.bus.name)
pulumi.export("alerts_topic_arn", alerts.topic.arn)
