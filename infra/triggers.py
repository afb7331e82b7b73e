"""Continuous chaining: a manifest dropped under ``incoming/<project>/`` starts a LabelingJob.

The data bucket sends its events to EventBridge (set natively on the bucket resource, so no
notification custom resource is deployed); one rule matches S3 "Object Created" for keys
``incoming/*/*.manifest`` in that bucket and starts the LabelingJob state machine with
``{"trigger": {...}}``. The state machine's ResolveTrigger step reads the project's settings from the
job table (``PROJECT#<project>`` / ``SETTINGS``, which uploaders cannot write) and builds the job input
(``initial_model: latest``). The input transformer comes from
``labelchain.core.trigger`` — the same module that parses what it produces.
"""

from __future__ import annotations

from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra.lifecycle import EventDeadLetters
from labelchain.core import s3_layout
from labelchain.core.trigger import event_pattern, input_transformer


def enable_event_bridge(bucket: s3.Bucket) -> None:
    """Send the bucket's events to EventBridge (the CloudFormation property, not CDK's custom resource)."""
    cfn_bucket = bucket.node.default_child
    assert isinstance(cfn_bucket, s3.CfnBucket)
    cfn_bucket.add_property_override(
        "NotificationConfiguration.EventBridgeConfiguration.EventBridgeEnabled", True
    )


class ManifestTrigger(Construct):
    """The EventBridge rule that turns a dropped manifest into a LabelingJob execution."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        data_bucket: s3.Bucket,
        labeling_job: sfn.IStateMachine,
        dead_letters: EventDeadLetters,
    ) -> None:
        super().__init__(scope, construct_id)
        enable_event_bridge(data_bucket)
        self.rule = events.Rule(
            self,
            "ManifestDropped",
            description=(
                f"Starts a LabelingJob for each *{s3_layout.MANIFEST_SUFFIX} created under "
                f"{s3_layout.INCOMING_PREFIX}<project>/"
            ),
            # Replaced below by labelchain.core.trigger's full pattern (one source of truth).
            event_pattern=events.EventPattern(source=["aws.s3"]),
        )
        # Retried, then dead-lettered (encrypted SQS): a dropped manifest is never lost silently.
        self.rule.add_target(targets.SfnStateMachine(labeling_job, **dead_letters.target_options()))  # type: ignore[arg-type]
        paths, template = input_transformer()
        cfn_rule = self.rule.node.default_child
        assert isinstance(cfn_rule, events.CfnRule)
        cfn_rule.add_property_override("EventPattern", event_pattern(data_bucket.bucket_name))
        cfn_rule.add_property_override(
            "Targets.0.InputTransformer", {"InputPathsMap": paths, "InputTemplate": template}
        )
