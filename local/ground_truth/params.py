"""The knobs of the automated-labeling model, with their calibrated defaults, and the account's
concurrent-job quota (docs/EMULATOR.md).

Every parameter is documented there with its default and why; ``python -m
local.ground_truth.calibration`` shows what the defaults do to AWS's bird experiment.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator


class SimulationParams(BaseModel):
    """Every knob of the model; the defaults are calibrated on AWS's bird experiment (docs/EMULATOR.md)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    seed: int = Field(default=1, description="Seeds every hash-based draw (1: not hand-picked).")
    difficulty_shape_a: float = Field(default=4.0, gt=0, description="Kumaraswamy a of object difficulty.")
    difficulty_shape_b: float = Field(default=12.0, gt=0, description="Kumaraswamy b of object difficulty.")
    validation_fraction_small: float = Field(default=0.20, gt=0, le=1)
    validation_fraction_large: float = Field(default=0.10, gt=0, le=1)
    large_dataset_objects: int = Field(default=5000, ge=1, description="Above this, the large fraction.")
    min_objects_for_auto_labeling: int = Field(default=1250, ge=1)
    competence_max: float = Field(default=1.0, gt=0, description="c_max of the learning curve.")
    learning_scale_labels: float = Field(default=325.0, gt=0, description="k of the learning curve.")
    confidence_width: float = Field(default=0.04, gt=0, description="s: how sharply confidence falls.")
    quality_target: float = Field(default=0.95, gt=0, lt=1, description="Accuracy machine labels must meet.")
    min_validation_support: int = Field(default=20, ge=1, description="Fewest validation objects to trust.")
    transfer_factor: float = Field(default=1.0, ge=0, description="Share of a seed model's labels kept.")
    unknown_model_labels: float = Field(default=500.0, ge=0, description="Head start of a foreign model ARN.")
    initializing_seconds: float = Field(default=600.0, ge=0)
    crowd_pickup_seconds: float = Field(
        default=600.0, ge=0, description="Until the work team starts on a new batch."
    )
    default_team_size: int = Field(
        default=10, ge=1, description="People in a work team (private or vendor) not in team_sizes."
    )
    team_sizes: dict[str, int] = Field(
        default_factory=dict, description="People in a work team, by WorkteamArn (overrides the default)."
    )
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

    @field_validator("team_sizes")
    @classmethod
    def _positive_team_sizes(cls, sizes: dict[str, int]) -> dict[str, int]:
        for arn, size in sizes.items():
            if size < 1:
                raise ValueError(f"team_sizes[{arn!r}]: a work team has at least 1 person, got {size}")
        return sizes

    def team_size_for(self, workteam_arn: str) -> int:
        """People working the tasks of a job sent to ``workteam_arn``."""
        return self.team_sizes.get(workteam_arn, self.default_team_size)
