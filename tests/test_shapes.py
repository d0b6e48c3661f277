import pytest

from convcalc import ShapeError, parse_shape


@pytest.mark.parametrize("text", ["1x3x224x224", "1,3,224,224", "[1, 3, 224, 224]", "(1, 3, 224, 224)",
                                  " 1 x 3 x 224 x 224 ", "1×3×224×224", "1 3 224 224", (1, 3, 224, 224),
                                  "torch.Size([1, 3, 224, 224])", " torch.Size([1,3,224,224]) "])
def test_shape_spellings(text):
    assert parse_shape(text) == (1, 3, 224, 224)


def test_single_dim():
    assert parse_shape("10") == (10,)
    assert parse_shape("(10,)") == (10,)


@pytest.mark.parametrize("text, fragment", [
    ("", "empty shape"), ("[]", "empty shape"), ("1x3xax4", "got 'a'"), ("1x-3x4", "non-negative integer; got -3"), ("1.5x3", "got '1.5'"), ("1xx3", "got"),
    ("torch.Size([])", "empty shape"), ("torch.Size([1, 'a'])", "got \"'a'\""),
    ("1x3x" + "9" * 5000, "got a 5,000-digit number"),  # more than Python's int() reads
    (f"1x{2**63}", f"at most 2**63 - 1, as PyTorch's 64-bit sizes hold; got {2**63}"),
    (f"{2**32}x{2**32}", "at most 2**63 - 1 elements in all"),  # 2**64 elements
    ("1x" * 1000 + "1", "at most 1,000 dimensions"),
    ((1, 10**5000), "at most 2**63 - 1"), ((1, -(10**5000)), "non-negative integer"),
])
def test_bad_shapes(text, fragment):
    with pytest.raises(ShapeError) as info:
        parse_shape(text)
    assert fragment in str(info.value)
    assert str(info.value).startswith("--input:")


def test_largest_shape():
    assert parse_shape(f"1x{2**63 - 1}") == (1, 2**63 - 1)
    assert parse_shape(f"{2**31}x{2**31}x{2**0}") == (2**31, 2**31, 1)


def test_torch_prints_a_shape_that_reads_back():
    torch = pytest.importorskip("torch")
    assert parse_shape(str(torch.Size([2, 3, 5, 7]))) == (2, 3, 5, 7)


def test_error_quotes_a_huge_input_briefly():
    with pytest.raises(ShapeError) as info:
        parse_shape("1x" * 5_000_000 + "y")
    assert len(str(info.value)) < 300 and "…" in str(info.value)
