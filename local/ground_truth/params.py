"""The knobs of the automated-labeling model, with their calibrated defaults, and the account's
concurrent-job quota (docs/EMULATOR.md).

Every parameter is documented there with its default and why; ``python -m
local.ground_truth.calibration`` shows what the defaults do to AWS's bird experiment.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class SimulationParams(BaseModel):
    """Every knob of the model; the defaults are calibrated on AWS's bird experiment (docs/EMULATOR.md)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    seed: int = Field(default=38, description="Seeds every hash-based draw.")
    difficulty_shape_a: float = Field(default=2.0, gt=0, description="Kumaraswamy a of object difficulty.")
    difficulty_shape_b: float = Field(default=4.0, gt=0, description="Kumaraswamy b of object difficulty.")
    validation_fraction_small: float = Field(default=0.20, gt=0, le=1)
    validation_fraction_large: float = Field(default=0.10, gt=0, le=1)
    large_dataset_objects: int = Field(default=5000, ge=1, description="Above this, the large fraction.")
    min_objects_for_auto_labeling: int = Field(default=1250, ge=1)
    competence_max: float = Field(default=1.0, gt=0, description="c_max of the learning curve.")
    learning_scale_labels: float = Field(default=500.0, gt=0, description="k of the learning curve.")
    confidence_width: float = Field(default=0.07, gt=0, description="s: how sharply confidence falls.")
    quality_target: float = Field(default=0.95, gt=0, lt=1, description="Accuracy machine labels must meet.")
    min_validation_support: int = Field(default=20, ge=1, description="Fewest validation objects to trust.")
    transfer_factor: float = Field(default=1.0, ge=0, description="Share of a seed model's labels kept.")
    unknown_model_labels: float = Field(default=500.0, ge=0, description="Head start of a foreign model ARN.")
    initializing_seconds: float = Field(default=600.0, ge=0)
    crowd_pickup_seconds: float = Field(default=600.0, ge=0, description="Until workers start a new batch.")
    crowd_tasks_per_hour: float = Field(default=900.0, gt=0, description="Crowd throughput (tasks per hour).")
    task_time_fraction: float = Field(default=0.5, gt=0, le=1, description="Task time / TaskTimeLimit.")
    training_base_seconds: float = Field(default=3600.0, ge=0)
    training_seconds_per_label: float = Field(default=2.0, ge=0)
    inference_base_seconds: float = Field(default=900.0, ge=0)
    inference_seconds_per_object: float = Field(default=0.5, ge=0)
    finishing_seconds: float = Field(default=300.0, ge=0, description="Last label to Completed.")
    stopping_seconds: float = Field(default=300.0, ge=0, description="How long Stopping lasts.")
    two_box_probability: float = Field(default=0.35, ge=0, le=1, description="Objects with two boxes.")
    max_concurrent_jobs: int | None = Field(
        default=None,
        ge=1,
        description="Account quota of labeling jobs not yet ended, per region (None: no quota);"
        " CreateLabelingJob beyond it is ResourceLimitExceeded.",
    )
