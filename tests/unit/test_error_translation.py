"""The one boto error translator and the one pydantic-error formatter (pure: no moto, no network)."""

from __future__ import annotations

from typing import Annotated, Literal

import pytest
from botocore.exceptions import ClientError, NoCredentialsError, ReadTimeoutError
from pydantic import Field, ValidationError

from labelchain.adapters.aws_errors import aws_call, has_code, translate
from labelchain.core.arns import parse_arn
from labelchain.core.models import StrictModel
from labelchain.core.validation import Wording, describe_validation_error
from labelchain.errors import LabelingJobNotFound, TransientServiceError


def client_error(code: str, status: int = 400) -> ClientError:
    response = {"Error": {"Code": code, "Message": "m"}, "ResponseMetadata": {"HTTPStatusCode": status}}
    return ClientError(response, "DescribeLabelingJob")


NOT_FOUND = {"ResourceNotFound": lambda _: LabelingJobNotFound("no labeling job named 'j'")}


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (client_error("ResourceNotFound"), LabelingJobNotFound),  # a code the call gives a meaning to
        (client_error("ThrottlingException"), TransientServiceError),  # throttling by code
        (client_error("SomethingNew", status=503), TransientServiceError),  # any 5xx
        (ReadTimeoutError(endpoint_url="https://sagemaker"), TransientServiceError),  # connection trouble
        (client_error("ValidationException"), None),  # no meaning here: the caller re-raises it
        (NoCredentialsError(), None),  # not worth a retry: the caller re-raises it
    ],
)
def test_a_botocore_error_becomes_the_domain_error_its_code_means(
    error: Exception, expected: type[Exception] | None
) -> None:
    translated = translate("SageMaker", "DescribeLabelingJob", error, NOT_FOUND)
    assert (type(translated) if translated is not None else None) is expected


def test_aws_call_raises_the_translation_from_the_botocore_error_and_leaves_others_unchanged() -> None:
    expected = r"SageMaker DescribeLabelingJob refused transiently \(Throttling\)"
    with (
        pytest.raises(TransientServiceError, match=expected) as raised,
        aws_call("SageMaker", "DescribeLabelingJob", NOT_FOUND),
    ):
        raise client_error("Throttling")
    assert isinstance(raised.value.__cause__, ClientError)
    with pytest.raises(ClientError) as unchanged, aws_call("SageMaker", "StopLabelingJob", NOT_FOUND):
        raise client_error("ValidationException")
    assert has_code(unchanged.value, {"ValidationException"})
    assert not has_code(ValueError("ValidationException"), {"ValidationException"})


class Box(StrictModel):
    label: str = Field(pattern=r"^[a-z]+$")
    corners: list[int] = Field(max_length=2)


class Circle(StrictModel):
    shape: Literal["circle"]
    radius: int = Field(gt=0)


class Square(StrictModel):
    shape: Literal["square"]
    side: int = Field(gt=0)


class Drawing(StrictModel):
    boxes: list[Box]
    figure: Annotated[Circle | Square, Field(discriminator="shape")]


WORDING = Wording(
    union_tags=frozenset({"circle", "square"}),
    patterns={"label": "lowercase letters"},
    unknown_field="unknown field, check its spelling",
)


def problems(document: object, **options: object) -> str:
    with pytest.raises(ValidationError) as raised:
        Drawing.model_validate(document)
    return describe_validation_error(raised.value, WORDING, **options)  # type: ignore[arg-type]


def test_the_formatter_names_each_field_by_its_path_in_the_document_words() -> None:
    document = {
        "boxes": [{"label": "ok", "corners": []}, {"label": "Not OK", "corners": [1, 2, 3], "colour": 1}],
        "figure": {"shape": "circle", "radius": 0},
    }
    assert problems(document).split("; ") == [
        "boxes.1.label: expected lowercase letters",  # a list index, the field's own pattern meaning
        "boxes.1.corners: List should have at most 2 items after validation, not 3",
        "boxes.1.colour: unknown field, check its spelling",
        "figure.radius: Input should be greater than 0",  # the union member's tag is not a field
    ]


def test_the_formatter_places_errors_under_a_prefix_and_names_the_document_itself() -> None:
    document = {"boxes": [], "figure": {"shape": "square", "side": 1}, "colour": "red"}
    assert problems(document, prefix=("drawing",)) == "drawing.colour: unknown field, check its spelling"
    assert problems([], root="document").startswith("document: Input should be a valid dictionary")


def test_one_arn_parser_keeps_the_colons_of_the_resource() -> None:
    arn = parse_arn("arn:aws:states:eu-west-1:123456789012:execution:lc-LabelingJob:run-1")
    assert (arn.partition, arn.region, arn.account) == ("aws", "eu-west-1", "123456789012")
    assert arn.with_resource("execution:lc-Experiment:x") == (
        "arn:aws:states:eu-west-1:123456789012:execution:lc-Experiment:x"
    )
    with pytest.raises(ValueError, match="not an ARN"):
        parse_arn("workteam/private-crowd/team")
