"""LabelChain: chained, auto-labeling SageMaker Ground Truth jobs.

Layers: ``core`` (pure logic, no boto3), ``adapters`` (the only boto3 users, clients injected),
``services`` (one use case each, composing core and adapters) and ``handlers`` (thin Lambda entry
points). ``errors`` holds the domain errors whose class names become Step Functions error names.
"""
