import pytest

from convcalc import ShapeError, parse_shape


@pytest.mark.parametrize("text", ["1x3x224x224", "1,3,224,224", "[1, 3, 224, 224]", "(1, 3, 224, 224)",
                                  " 1 x 3 x 224 x 224 ", "1×3×224×224", "1 3 224 224", (1, 3, 224, 224)])
def test_shape_spellings(text):
    assert parse_shape(text) == (1, 3, 224, 224)


def test_single_dim():
    assert parse_shape("10") == (10,)
    assert parse_shape("(10,)") == (10,)


@pytest.mark.parametrize("text, fragment", [
    ("", "empty shape"), ("[]", "empty shape"), ("1x3xax4", "got 'a'"), ("1x0x4", "positive integer; got 0"),
    ("1x-3x4", "positive integer; got -3"), ("1.5x3", "got '1.5'"), ("1xx3", "got"),
])
def test_bad_shapes(text, fragment):
    with pytest.raises(ShapeError) as info:
        parse_shape(text)
    assert fragment in str(info.value)
    assert str(info.value).startswith("--input:")
