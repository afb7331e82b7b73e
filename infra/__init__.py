"""LabelChain's CDK app: one construct per concern, composed by ``infra.stack.LabelChainStack``.

``config`` (validated context) · ``storage`` (key + buckets) · ``table`` · ``ground_truth_role`` ·
``functions`` (one Lambda factory, per-function grants) · ``labeling_job_workflow`` (the state machine) ·
``stack`` (composition, outputs) · ``nag`` (cdk-nag and its acknowledgments) · ``application`` (builds the
app for ``app.py`` and the tests) · ``definitions`` (reads the synthesized template back, for tests and the
offline stack) · ``cfn_hygiene`` (keeps the template cfn-lint clean).
"""
