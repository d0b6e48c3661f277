"""YAML network specs: the format, blocks, references, errors with file:line, expect,
and the summary, check and schema commands.

Expected counts are arithmetic written here (the contract's formulas on the shapes each
layer gets), and the three examples are compared with the same networks built in
PyTorch when torch is importable."""

from __future__ import annotations

import json
import math
import re
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from convcalc.cli import main
from convcalc.errors import ConvcalcError
from convcalc.network import analyse, load_text
from convcalc.network.expect import parse_amount
from convcalc.network.summary import display_rows

ROOT = Path(__file__).parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def write(tmp_path, text: str, name: str = "net.yaml") -> str:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return str(path)


def net(text: str, **options):
    return analyse(load_text(textwrap.dedent(text), "net.yaml"), **options)


def rows(result) -> dict:
    return {r.name: r for r in result.analysis.layers}


def error(text: str, **options) -> str:
    with pytest.raises(ConvcalcError) as info:
        net(text, **options)
    message = str(info.value)
    assert "\n" not in message
    return message


def conv_macs(n, cout, hw, cin, k, groups=1):
    """CONTRACT section 4: N*C_out*prod(out_spatial)*(C_in/groups)*prod(kernel)."""
    return n * cout * hw[0] * hw[1] * (cin // groups) * k * k


# ------------------------------------------------------------------ the contract's example

CONTRACT_SPEC = """\
name: tiny-net                  # optional
input: [1, 3, 224, 224]         # may instead be given with --input
dtype: float32                  # optional
layers:
  - Conv2d(3, 64, 7, stride=2, padding=3, bias=False)   # input: the previous entry
  - name: pool
    layer: MaxPool2d(3, stride=2, padding=1)
  - layer: Conv2d(64, 64, 3, padding=1)
    repeat: 2                    # the same layer N times in sequence
  - layer: Add()
    from: [pool, -1]             # entry names, or negative relative indices
expect:                          # read by `convcalc check`
  output_shape: [1, 64, 56, 56]
  max_params: 1.2M               # plain numbers or K/M/G suffixes
  max_macs: 2G
"""


def test_the_contracts_example():
    result = net(CONTRACT_SPEC)
    r = rows(result)
    # unnamed entries are named by their nn.Sequential index; the repeat's copies take 2 and 3
    assert list(r) == ["0", "pool", "2", "3", "4"]
    assert r["0"].inputs == ("input",) and r["pool"].inputs == ("0",)
    assert r["2"].inputs == ("pool",) and r["3"].inputs == ("2",)
    assert r["4"].inputs == ("pool", "3")  # -1 is the previous entry: the repeat's last copy
    assert r["4"].output_shape == (1, 64, 56, 56)
    total = result.analysis.total
    assert total.params == 3 * 64 * 49 + 2 * (64 * 64 * 9 + 64)
    assert total.macs == conv_macs(1, 64, (112, 112), 3, 7) + 2 * conv_macs(1, 64, (56, 56), 64, 3)
    assert total.output_shape == (1, 64, 56, 56)
    assert result.spec.name == "tiny-net"


def test_input_option_overrides_the_spec_and_is_needed_without_it():
    assert net(CONTRACT_SPEC, input="2x3x64x64").analysis.total.output_shape == (2, 64, 16, 16)
    message = error("layers:\n  - ReLU()\n")
    assert message.startswith("net.yaml:1: no input shape") and "--input" in message
    assert net("layers:\n  - ReLU()\n", input="1x3x4x4").analysis.total.output_shape == (1, 3, 4, 4)


def test_input_as_text_and_dtype():
    result = net("input: 1x3x8x8\ndtype: torch.float16\nlayers: ['Conv2d(3, 4, 3)']\n")
    row = result.analysis.layers[0]
    assert row.output_bytes == 4 * 6 * 6 * 2 and result.analysis.dtype == "float16"
    assert net("input: 1x3x8x8\ndtype: float16\nlayers: [ReLU()]\n", dtype="float64").analysis.dtype == "float64"


# ------------------------------------------------------------------ the examples

TINY_RESNET_PARAMS = (3 * 16 * 9 + 32  # conv1, bn1
                      + 2 * (2 * 16 * 16 * 9 + 2 * 32)  # layer1: two blocks, no projection
                      + (16 * 32 * 9 + 64 + 32 * 32 * 9 + 64 + 16 * 32 + 64)  # layer2.0 with its 1x1 projection
                      + (2 * 32 * 32 * 9 + 2 * 64)  # layer2.1
                      + (32 * 64 * 9 + 128 + 64 * 64 * 9 + 128 + 32 * 64 + 128)  # layer3.0
                      + (2 * 64 * 64 * 9 + 2 * 128)  # layer3.1
                      + 64 * 10 + 10)  # fc
TINY_RESNET_MACS = (conv_macs(1, 16, (32, 32), 3, 3)
                    + 4 * conv_macs(1, 16, (32, 32), 16, 3)
                    + conv_macs(1, 32, (16, 16), 16, 3) + conv_macs(1, 32, (16, 16), 32, 3)
                    + conv_macs(1, 32, (16, 16), 16, 1) + 2 * conv_macs(1, 32, (16, 16), 32, 3)
                    + conv_macs(1, 64, (8, 8), 32, 3) + conv_macs(1, 64, (8, 8), 64, 3)
                    + conv_macs(1, 64, (8, 8), 32, 1) + 2 * conv_macs(1, 64, (8, 8), 64, 3)
                    + 64 * 10)


def test_tiny_resnet_names_params_and_macs():
    result = analyse(str(ROOT / "examples/tiny_resnet.yaml"))
    r = rows(result)
    assert result.analysis.total.params == TINY_RESNET_PARAMS
    assert result.analysis.total.macs == TINY_RESNET_MACS
    # blocks expanded under torchvision's names; the projection only where the shape changes
    assert "layer1.0.conv1" in r and "layer1.1.relu2" in r
    assert not any(n.startswith("layer1.0.downsample") for n in r)
    assert r["layer2.0.downsample.0"].spec == "Conv2d(16, 32, 1, stride=2, bias=False)"
    assert r["layer2.0.downsample.0"].inputs == ("layer1.1.relu2",)
    assert r["layer2.0.add"].inputs == ("layer2.0.bn2", "layer2.0.downsample.1")
    assert r["layer1.0.add"].inputs == ("layer1.0.bn2", "relu")  # no projection: the block's input
    assert r["fc"].output_shape == (1, 10)
    # the receptive field through the DAG: a merge sees the union of its inputs' regions
    assert r["layer1.0.add"].receptive_field.size == (7, 7)  # 3x3 stem + two 3x3 convs
    assert r["layer2.0.add"].receptive_field.size == (17, 17)


def test_tiny_unet_concatenates_skips():
    result = analyse(str(ROOT / "examples/tiny_unet.yaml"))
    r = rows(result)
    assert r["up1.cat"].inputs == ("down1.1.5", "up1.up") and r["up1.cat"].output_shape == (1, 64, 32, 32)
    assert r["up2.cat"].inputs == ("inc.5", "up2.up") and r["up2.cat"].output_shape == (1, 32, 64, 64)

    def double(cin, cout):
        return cin * cout * 9 + 2 * cout + cout * cout * 9 + 2 * cout

    params = (double(1, 16) + double(16, 32) + double(32, 64)
              + (64 * 32 * 4 + 32) + double(64, 32) + (32 * 16 * 4 + 16) + double(32, 16) + 16 * 2 + 2)
    assert result.analysis.total.params == params
    # ConvTranspose: N*C_in*prod(in_spatial)*(C_out/groups)*prod(kernel)
    assert r["up1.up"].macs == 64 * 16 * 16 * 32 * 4


def test_tiny_mobilenet_leaves_out_what_its_conditions_say():
    r = rows(analyse(str(ROOT / "examples/tiny_mobilenet.yaml")))
    assert not any(n.startswith("block1.expand") for n in r)  # expand_ratio 1
    assert "block2.expand.0" in r and "block2.add" not in r  # stride 2: no residual
    assert r["block3.0.add"].inputs == ("block3.0.project_bn", "block2.project_bn")
    assert r["block3.1.add"].inputs == ("block3.1.project_bn", "block3.0.add")
    assert r["block2.depthwise.0"].spec == "Conv2d(48, 48, 3, stride=2, padding=1, groups=48, bias=False)"
    assert r["block2.depthwise.0"].macs == conv_macs(1, 48, (16, 16), 48, 3, groups=48)


def test_the_examples_pass_check(capsys):
    code, out, err = run(capsys, "check", *EXAMPLES)
    assert code == 0, out + err
    assert out.splitlines()[-1] == f"checked {len(EXAMPLES)} specs: {len(EXAMPLES)} passed, 0 failed"


# ------------------------------------------------------------------ live comparison with PyTorch

def _torch_models():
    torch = pytest.importorskip("torch")
    nn = torch.nn

    class BasicBlock(nn.Module):
        def __init__(self, inplanes, planes, stride=1):
            super().__init__()
            self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
            self.bn1, self.relu1 = nn.BatchNorm2d(planes), nn.ReLU()
            self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(planes)
            self.downsample = None
            if stride != 1 or inplanes != planes:
                self.downsample = nn.Sequential(nn.Conv2d(inplanes, planes, 1, stride, bias=False),
                                                nn.BatchNorm2d(planes))
            self.relu2 = nn.ReLU()

        def forward(self, x):
            out = self.bn2(self.conv2(self.relu1(self.bn1(self.conv1(x)))))
            return self.relu2(out + (x if self.downsample is None else self.downsample(x)))

    class TinyResNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1, self.bn1, self.relu = nn.Conv2d(3, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU()
            self.layer1 = nn.Sequential(BasicBlock(16, 16), BasicBlock(16, 16))
            self.layer2 = nn.Sequential(BasicBlock(16, 32, 2), BasicBlock(32, 32))
            self.layer3 = nn.Sequential(BasicBlock(32, 64, 2), BasicBlock(64, 64))
            self.avgpool, self.flatten, self.fc = nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10)

        def forward(self, x):
            x = self.relu(self.bn1(self.conv1(x)))
            x = self.layer3(self.layer2(self.layer1(x)))
            return self.fc(self.flatten(self.avgpool(x)))

    def double(cin, cout):
        return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(),
                             nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU())

    class Up(nn.Module):
        def __init__(self, cin, cout):
            super().__init__()
            self.up, self.conv = nn.ConvTranspose2d(cin, cin // 2, 2, stride=2), double(cin, cout)

        def forward(self, x, skip):
            return self.conv(torch.cat([skip, self.up(x)], dim=1))

    class TinyUNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.inc = double(1, 16)
            self.down1 = nn.Sequential(nn.MaxPool2d(2), double(16, 32))
            self.down2 = nn.Sequential(nn.MaxPool2d(2), double(32, 64))
            self.up1, self.up2, self.outc = Up(64, 32), Up(32, 16), nn.Conv2d(16, 2, 1)

        def forward(self, x):
            x1 = self.inc(x)
            x2 = self.down1(x1)
            return self.outc(self.up2(self.up1(self.down2(x2), x2), x1))

    def cbr(cin, cout, kernel=3, stride=1, groups=1):
        return nn.Sequential(nn.Conv2d(cin, cout, kernel, stride, (kernel - 1) // 2, groups=groups, bias=False),
                             nn.BatchNorm2d(cout), nn.ReLU6())

    class InvertedResidual(nn.Module):
        def __init__(self, cin, cout, stride, ratio):
            super().__init__()
            hidden = cin * ratio
            self.expand = cbr(cin, hidden, 1) if ratio != 1 else None
            self.depthwise = cbr(hidden, hidden, stride=stride, groups=hidden)
            self.project, self.project_bn = nn.Conv2d(hidden, cout, 1, bias=False), nn.BatchNorm2d(cout)
            self.residual = stride == 1 and cin == cout

        def forward(self, x):
            y = self.depthwise(x if self.expand is None else self.expand(x))
            y = self.project_bn(self.project(y))
            return x + y if self.residual else y

    class TinyMobileNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = cbr(3, 16, stride=2)
            self.block1, self.block2 = InvertedResidual(16, 8, 1, 1), InvertedResidual(8, 16, 2, 6)
            self.block3 = nn.Sequential(InvertedResidual(16, 16, 1, 6), InvertedResidual(16, 16, 1, 6))
            self.block4, self.head = InvertedResidual(16, 32, 2, 6), cbr(32, 128, 1)
            self.pool, self.flatten, self.classifier = nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(128, 10)

        def forward(self, x):
            x = self.block4(self.block3(self.block2(self.block1(self.stem(x)))))
            return self.classifier(self.flatten(self.pool(self.head(x))))

    return torch, {"tiny_resnet": TinyResNet, "tiny_unet": TinyUNet, "tiny_mobilenet": TinyMobileNet}


@pytest.mark.parametrize("example", ["tiny_resnet", "tiny_unet", "tiny_mobilenet"])
def test_examples_match_the_same_networks_in_torch(example):
    torch, models = _torch_models()
    nn = torch.nn
    result = analyse(str(ROOT / f"examples/{example}.yaml"))
    model = models[example]().eval()
    seen, macs = {}, [0]

    def hook(name):
        def record(module, inputs, output):
            seen[name] = tuple(output.shape)
            if isinstance(module, nn.ConvTranspose2d):
                macs[0] += inputs[0].numel() * module.out_channels // module.groups * math.prod(module.kernel_size)
            elif isinstance(module, nn.Conv2d):
                macs[0] += output.numel() * module.in_channels // module.groups * math.prod(module.kernel_size)
            elif isinstance(module, nn.Linear):
                macs[0] += output.numel() * module.in_features
        return record

    for name, module in model.named_modules():
        if not list(module.children()):
            module.register_forward_hook(hook(name))
    with torch.no_grad():
        model(torch.zeros(result.analysis.input_shape))
    r = rows(result)
    assert set(seen) <= set(r)
    for name, row in r.items():
        if name in seen:
            assert row.output_shape == seen[name], name
        else:  # torch's functional merges (x + y, torch.cat) are no modules
            assert row.type in ("Add", "Concat"), name
    assert result.analysis.total.params == sum(p.numel() for p in model.parameters())
    assert result.analysis.total.macs == macs[0]


# ------------------------------------------------------------------ references

def test_references_by_name_input_and_relative_index():
    r = rows(net("""\
        input: [1, 4, 8, 8]
        layers:
          - {name: a, layer: "Conv2d(4, 4, 3, padding=1)"}
          - {name: b, layer: "Conv2d(4, 4, 3, padding=1)", from: input}
          - {name: c, layer: "Conv2d(4, 4, 1)", from: -2}
          - {name: sum, layer: Add(), from: [a, b, c, input]}
          - {name: cat, layer: "Concat(dim=1)", from: [-1, "-4"]}
        """))
    assert r["a"].inputs == ("input",) and r["b"].inputs == ("input",) and r["c"].inputs == ("a",)
    assert r["sum"].inputs == ("a", "b", "c", "input")
    assert r["cat"].inputs == ("sum", "a") and r["cat"].output_shape == (1, 8, 8, 8)


def test_a_later_entry_can_be_named_and_the_output_is_the_last_entry():
    result = net("""\
        input: [1, 4, 8, 8]
        layers:
          - {name: head, layer: "Conv2d(8, 2, 1)", from: cat}
          - {name: a, layer: "Conv2d(4, 4, 3, padding=1)", from: input}
          - {name: cat, layer: "Concat(dim=1)", from: [a, input]}
          - {name: tail, layer: "Conv2d(2, 3, 1)", from: head}
        """)
    assert [r.name for r in result.analysis.layers] == ["a", "cat", "head", "tail"]
    assert result.analysis.total.output_shape == (1, 3, 8, 8)


def test_the_output_is_the_last_entry_even_when_the_walk_ends_elsewhere():
    result = net("""\
        input: [1, 4, 8, 8]
        layers:
          - {name: side, layer: "Conv2d(5, 6, 1)", from: last}
          - {name: last, layer: "Conv2d(4, 5, 1)", from: input}
        """)
    assert result.analysis.layers[-1].name == "side"
    assert result.analysis.total.output_shape == (1, 5, 8, 8)
    assert any("side" in w and "no entry reads" in w for w in result.analysis.warnings)


def test_an_entry_nobody_reads_is_warned_about():
    result = net("""\
        input: [1, 4, 8, 8]
        layers:
          - {name: lost, layer: "Conv2d(4, 4, 1)"}
          - {name: b, layer: "Conv2d(4, 4, 1)", from: input}
        """)
    (warning,) = [w for w in result.analysis.warnings if "no entry reads" in w]
    assert warning.startswith("net.yaml:3 (entry 'lost')")


def test_dotted_names_reach_into_groups_and_groups_see_outer_names():
    r = rows(net("""\
        input: [1, 4, 8, 8]
        layers:
          - {name: stem, layer: "Conv2d(4, 8, 1)"}
          - name: stage
            layers:
              - {name: conv, layer: "Conv2d(8, 8, 3, padding=1)"}
              - {name: skip, layer: Add(), from: [conv, stem]}
          - {name: tap, layer: "Conv2d(8, 2, 1)", from: stage.conv}
          - {name: out, layer: "Concat(dim=1)", from: [stage, tap]}
        """))
    assert r["stage.skip"].inputs == ("stage.conv", "stem")
    assert r["tap"].inputs == ("stage.conv",) and r["out"].inputs == ("stage.skip", "tap")


def test_the_first_entry_of_a_group_reads_the_groups_input():
    r = rows(net("""\
        input: [1, 4, 8, 8]
        layers:
          - {name: a, layer: "Conv2d(4, 4, 1)"}
          - {name: g, layers: ["Conv2d(4, 4, 1)", {layer: Add(), from: [-1, -2]}], from: input}
        """))
    assert r["g.0"].inputs == ("input",)
    assert r["g.1"].inputs == ("g.0", "input")  # one before the first entry: the group's input


def test_named_repeats_are_numbered_and_unnamed_ones_continue_the_index():
    r = rows(net("""\
        input: [1, 4, 8, 8]
        layers:
          - {name: body, layer: "Conv2d(4, 4, 3, padding=1)", repeat: 3}
          - layer: ReLU()
            repeat: 2
          - {layer: Add(), from: [body, body.0]}
        """))
    assert [n for n in r] == ["body.0", "body.1", "body.2", "1", "2", "3"]
    assert r["3"].inputs == ("body.2", "body.0")


def test_repeat_zero_and_when_false_pass_the_input_on():
    r = rows(net("""\
        input: [1, 4, 8, 8]
        layers:
          - {name: a, layer: "Conv2d(4, 4, 1)"}
          - {name: gone, layer: "Conv2d(4, 4, 1)", repeat: 0}
          - {name: skipped, layer: ReLU(), when: false}
          - {layer: Add(), from: [gone, skipped, a]}
        """))
    assert list(r) == ["a", "1"] and r["1"].inputs == ("a", "a", "a")


# ------------------------------------------------------------------ blocks

BLOCKS = """\
input: [1, 8, 16, 16]
blocks:
  Bottleneck:
    description: a ResNet bottleneck; a projection when the stride or the width changes
    params: [inplanes, planes, stride: 1, expansion: 4]
    layers:
      - {name: conv1, layer: "Conv2d({inplanes}, {planes}, 1, bias=False)"}
      - {name: conv2, layer: "Conv2d({planes}, {planes}, 3, stride={stride}, padding=1, bias=False)"}
      - {name: conv3, layer: "Conv2d({planes}, {planes * expansion}, 1, bias=False)"}
      - name: downsample
        layer: Conv2d({inplanes}, {planes * expansion}, 1, stride={stride}, bias=False)
        from: input
        when: stride != 1 or inplanes != planes * expansion
      - {name: add, layer: Add(), from: [conv3, downsample]}
layers:
  - {name: b1, layer: "Bottleneck(8, 2, stride=2)"}
  - {name: b2, layer: "Bottleneck(8, 2)", repeat: 2}
  - {name: b3, layer: "Bottleneck(inplanes=8, planes=4, expansion=1)"}
"""


def test_blocks_expand_with_their_parameters():
    result = net(BLOCKS)
    r = rows(result)
    assert r["b1.conv2"].spec == "Conv2d(2, 2, 3, stride=2, padding=1, bias=False)"
    assert r["b1.downsample"].output_shape == (1, 8, 8, 8) and r["b1.add"].inputs == ("b1.conv3", "b1.downsample")
    assert "b2.0.downsample" not in r and r["b2.0.add"].inputs == ("b2.0.conv3", "b1.add")
    assert r["b2.1.add"].inputs == ("b2.1.conv3", "b2.0.add")
    assert r["b3.conv3"].spec == "Conv2d(4, 4, 1, bias=False)" and "b3.downsample" in r
    block = lambda i, p, e, s: i * p + p * p * 9 + p * p * e + (i * p * e if s != 1 or i != p * e else 0)  # noqa
    assert result.analysis.total.params == block(8, 2, 4, 2) + 2 * block(8, 2, 4, 1) + block(8, 4, 1, 1)


def test_a_block_with_two_inputs():
    r = rows(net("""\
        input: [1, 4, 8, 8]
        blocks:
          Fuse:
            params: [c]
            inputs: [x, skip]
            layers:
              - {name: up, layer: "Conv2d({c}, {c}, 1)", from: x}
              - {name: cat, layer: "Concat(dim=1)", from: [skip, up]}
        layers:
          - {name: a, layer: "Conv2d(4, 4, 1)"}
          - {name: f, layer: Fuse(4), from: [a, input]}
        """))
    assert r["f.up"].inputs == ("a",) and r["f.cat"].inputs == ("input", "f.up")


def test_blocks_call_blocks_and_placeholders_take_expressions():
    r = rows(net("""\
        input: [1, 3, 16, 16]
        blocks:
          CBR:
            params: [cin, cout, k: 3, s: 1]
            layers:
              - Conv2d({cin}, {cout}, {k}, stride={s}, padding={(k - 1) // 2}, bias=False)
              - BatchNorm2d({cout})
              - ReLU()
          Stage:
            params: [cin, cout, n]
            layers:
              - {name: first, layer: "CBR({cin}, {cout}, s=2)"}
              - {name: rest, layer: "CBR({cout}, {cout}, k={max(1, n - 1)})", repeat: "{n - 1}"}
        layers:
          - {name: s1, layer: "Stage(3, 8, 3)"}
        """))
    assert r["s1.first.0"].spec == "Conv2d(3, 8, 3, stride=2, padding=1, bias=False)"
    # k = max(1, 3 - 1) = 2, padding (2 - 1) // 2 = 0; the text as written, parameters put in
    assert r["s1.rest.1.0"].spec == "Conv2d(8, 8, 2, stride=1, padding=0, bias=False)"
    assert "s1.rest.2.0" not in r


def test_a_resnet50_spec_is_short(tmp_path):
    """Blocks keep a 50-layer ResNet (the torchvision layout) to a few lines per stage; its
    params are torchvision resnet50's 25,557,032, as the formulas add them up here."""
    text = """\
        input: [1, 3, 224, 224]
        blocks:
          Bottleneck:
            params: [inplanes, planes, stride: 1]
            layers:
              - {name: conv1, layer: "Conv2d({inplanes}, {planes}, 1, bias=False)"}
              - {name: bn1, layer: "BatchNorm2d({planes})"}
              - {name: relu1, layer: ReLU()}
              - {name: conv2, layer: "Conv2d({planes}, {planes}, 3, stride={stride}, padding=1, bias=False)"}
              - {name: bn2, layer: "BatchNorm2d({planes})"}
              - {name: relu2, layer: ReLU()}
              - {name: conv3, layer: "Conv2d({planes}, {planes * 4}, 1, bias=False)"}
              - {name: bn3, layer: "BatchNorm2d({planes * 4})"}
              - name: downsample
                layer: Projection({inplanes}, {planes * 4}, {stride})
                from: input
                when: stride != 1 or inplanes != planes * 4
              - {name: add, layer: Add(), from: [bn3, downsample]}
              - {name: relu3, layer: ReLU()}
          Projection:
            params: [cin, cout, stride]
            layers: ["Conv2d({cin}, {cout}, 1, stride={stride}, bias=False)", "BatchNorm2d({cout})"]
          Stage:
            params: [inplanes, planes, blocks, stride]
            layers:
              - "Bottleneck({inplanes}, {planes}, {stride})"
              - {layer: "Bottleneck({planes * 4}, {planes})", repeat: "{blocks - 1}"}
        layers:
          - {name: conv1, layer: "Conv2d(3, 64, 7, stride=2, padding=3, bias=False)"}
          - {name: bn1, layer: BatchNorm2d(64)}
          - {name: relu, layer: ReLU()}
          - {name: maxpool, layer: "MaxPool2d(3, stride=2, padding=1)"}
          - {name: layer1, layer: "Stage(64, 64, 3, 1)"}
          - {name: layer2, layer: "Stage(256, 128, 4, 2)"}
          - {name: layer3, layer: "Stage(512, 256, 6, 2)"}
          - {name: layer4, layer: "Stage(1024, 512, 3, 2)"}
          - {name: avgpool, layer: AdaptiveAvgPool2d(1)}
          - {name: flatten, layer: Flatten()}
          - {name: fc, layer: "Linear(2048, 1000)"}
        """
    assert len(textwrap.dedent(text).splitlines()) < 50
    result = net(text)
    r = rows(result)
    assert "layer3.5.conv2" in r and "layer4.0.downsample.1" in r and "layer4.1.downsample.0" not in r

    def bottleneck(i, p, projection):
        return i * p + 2 * p + p * p * 9 + 2 * p + p * 4 * p + 8 * p + (i * 4 * p + 8 * p if projection else 0)

    def stage(i, p, n):
        return bottleneck(i, p, True) + (n - 1) * bottleneck(4 * p, p, False)

    params = (3 * 64 * 49 + 128 + stage(64, 64, 3) + stage(256, 128, 4) + stage(512, 256, 6)
              + stage(1024, 512, 3) + 2048 * 1000 + 1000)
    assert params == 25_557_032
    assert result.analysis.total.params == params
    assert r["layer4.2.relu3"].output_shape == (1, 2048, 7, 7)


# ------------------------------------------------------------------ errors name file, line and entry

@pytest.mark.parametrize("text, where, fragment", [
    # unknown reference, with a did-you-mean
    ("input: [1, 3, 8, 8]\nlayers:\n  - {name: conv, layer: ReLU()}\n  - {layer: ReLU(), from: cnv}\n",
     "net.yaml:4 (entry '1')", "unknown reference 'cnv'; expected 'input', an entry's name or a negative index; "
                               "did you mean 'conv'?"),
    ("input: [1, 3, 8, 8]\nlayers:\n  - ReLU()\n  - {layer: ReLU(), from: -3}\n",
     "net.yaml:4 (entry '1')", "the relative reference -3 reaches before the first entry"),
    ("input: [1, 3, 8, 8]\nlayers:\n  - {name: a, layer: ReLU(), from: b}\n  - {name: b, layer: ReLU()}\n",
     "(entry '", "cycle: "),
    ("input: [1, 3, 8, 8]\nlayers:\n  - {name: a, layer: ReLU(), from: a}\n", "(entry 'a')", "cycle: 'a' reads 'a'"),
    # a shape mismatch at a merge shows both shapes and where they come from
    ("input: [1, 3, 8, 8]\nlayers:\n  - {name: a, layer: \"Conv2d(3, 4, 1)\"}\n"
     "  - {name: s, layer: Add(), from: [a, input]}\n",
     "net.yaml:4:22 (entry 's')", "Add: cannot broadcast shapes [1, 4, 8, 8] and [1, 3, 8, 8] (inputs from 'a', 'input')"),
    ("input: [1, 3, 8, 8]\nlayers:\n  - {name: a, layer: \"Conv2d(3, 4, 3)\"}\n"
     "  - {name: c, layer: \"Concat(dim=1)\", from: [a, input]}\n",
     "(entry 'c')", "shapes [1, 4, 6, 6] and [1, 3, 8, 8] must match except in dim 1"),
    # wrong types
    ("input: [1, 3, 8, 8]\nlayers:\n  - {name: 7, layer: ReLU()}\n", "net.yaml:3", "'name' must be a string; got the number 7"),
    ("input: [1, 3, 8, 8]\nlayers:\n  - {name: no, layer: ReLU()}\n", "net.yaml:3", "got false (YAML reads yes, no, on"),
    ("input: [1, 3, 8, 8]\nlayers:\n  - {layer: ReLU(), repeat: two}\n", "net.yaml:3", "unknown name 'two' in '{two}'"),
    ("input: [1, 3, 8, 8]\nlayers:\n  - {layer: ReLU(), repeat: 'x y'}\n", "net.yaml:3", "cannot read the expression 'x y'"),
    ("input: [1, 3, 8, 8]\nlayers:\n  - {layer: ReLU(), from: [input, off]}\n", "net.yaml:3",
     "'from' must name entries ('conv1', 'input') or give negative indices (-1); got false (YAML reads yes, no, on"),
    ("input: [1, 3, 8, 8]\nlayers:\n  - {layer: ReLU(), repeat: -1}\n", "net.yaml:3 (entry '0')", "'repeat' must be from 0"),
    ("input: [1, 3, 8, 8]\nlayers:\n  - {layer: ReLU(), from: 2}\n", "net.yaml:3 (entry '0')", "must be negative"),
    ("input: [1, 3, 8, 8]\nlayers: ReLU()\n", "net.yaml:2", "'layers' must be a list"),
    ("input: [1, 3, 8, 8]\nlayers: []\n", "net.yaml:2", "'layers' is empty"),
    ("input: [1, 3, 8, 8]\nlayers:\n  - 12\n", "net.yaml:3 (entry '0')", "an entry must be a layer expression or a mapping"),
    ("input: [1, 3, 8, 8]\nlayers:\n  - {layer: ReLU(), layers: [ReLU()]}\n", "net.yaml:3", "got both"),
    ("input: 224\nlayers: [ReLU()]\n", "net.yaml:1", "'input' must be a shape"),
    ("input: [1, -2, 8]\nlayers: [ReLU()]\n", "net.yaml:1", "'input': every dimension must be a non-negative integer"),
    ("input:\nlayers: [ReLU()]\n", "net.yaml:1", "'input' must be a shape such as [1, 3, 224, 224]"),
    ("input: [1, 3, x]\nlayers: [ReLU()]\n", "net.yaml:1", "'input' must be a shape"),
    ("input: [1, 3, 8, 8]\ndtype: float33\nlayers: [ReLU()]\n", "net.yaml:2", "unknown dtype 'float33'"),
    ("[ReLU()]\n", "net.yaml:1", "put the list under 'layers:'"),
    ("", "net.yaml:1", "got an empty file"),
    # unknown keys, with a did-you-mean
    ("input: [1, 3, 8, 8]\nlayer:\n  - ReLU()\n", "net.yaml:2", "unknown key 'layer' in the spec; did you mean 'layers'?"),
    ("input: [1, 3, 8, 8]\nlayers:\n  - {layer: ReLU(), form: input}\n", "net.yaml:3 (entry '0')",
     "unknown key 'form' in an entry; did you mean 'from'?"),
    ("input: [1, 3, 8, 8]\nlayers: [ReLU()]\nexpect:\n  max_mac: 1G\n", "net.yaml:4", "did you mean 'max_macs'?"),
    ("input: [1, 3, 8, 8]\nlayers:\n  - {name: a, layer: Conv2d(3, 8, 3)}\n", "net.yaml:3 (entry 'a')", "write it in quotes"),
    ("input: [1, 3, 8, 8]\nlayers: [ReLU(), Conv2d(3, 8, 3)]\n", "net.yaml:2: ",
     "the layer expression 'Conv2d(3' was cut at a comma: inside [...] write each layer in quotes"),
    ("input: [1, 3, 8, 8]\ninput: [1, 3, 8, 8]\nlayers: [ReLU()]\n", "net.yaml:2:1", "the key 'input' is given twice (first at line 1)"),
    ("input: [1, 3, 8, 8]\nlayers:\n  - {name: a, layer: ReLU()}\n  - {name: a, layer: ReLU()}\n",
     "net.yaml:4 (entry 'a')", "the name 'a' is used twice in the spec (first at line 3)"),
    ("input: [1, 3, 8, 8]\nlayers:\n  - {name: input, layer: ReLU()}\n", "net.yaml:3", "reserved"),
    # layers
    ("input: [1, 3, 8, 8]\nlayers:\n  - Conv2d(3, 8, 3, stride=0)\n", "net.yaml:3:28 (entry '0')",
     "Conv2d: stride must be positive; got 0"),
    ("input: [1, 3, 8, 8]\nlayers:\n  - Convv2d(3, 8, 3)\n", "net.yaml:3:5 (entry '0')",
     "unknown layer 'Convv2d'; did you mean 'Conv2d'?"),
    ("input: [1, 3, 8, 8]\nlayers:\n  - \"Conv2d(4, 8, 3)\"\n", "net.yaml:3:6 (entry '0')",
     "expected input with 4 channels; got 3 channels"),
    ("input: [1, 3, 8, 8]\nlayers:\n  - {layer: \"Conv2d(3, 8, 3)\", from: [input, input]}\n", "(entry '0')",
     "Conv2d takes 1 input; got 2"),
])
def test_errors_name_the_file_line_and_entry(text, where, fragment):
    message = error(text)
    assert message.startswith(where) or where in message, message
    assert fragment in message, message


BLOCK_HEAD = "input: [1, 4, 8, 8]\nblocks:\n  B:\n    params: [c, stride: 1]\n    layers:\n"


@pytest.mark.parametrize("body, uses, where, fragment", [
    ("      - Conv2d({c}, {c}, 3, stride={stride})\n", "  - B(4, strid=2)\n", "net.yaml:8 (entry '0')",
     "unknown parameter 'strid' of block B(c, stride=1); did you mean 'stride'?"),
    ("      - Conv2d({c}, {c}, 3)\n", "  - B()\n", "net.yaml:8 (entry '0')", "is missing the parameter 'c'"),
    ("      - Conv2d({c}, {c}, 3)\n", "  - B(4, 1, 2)\n", "net.yaml:8", "takes 2 positional arguments; got 3"),
    ("      - Conv2d({c}, {c}, 3)\n", "  - B(4, c=4)\n", "net.yaml:8", "got two values for 'c'"),
    ("      - Conv2d({c}, {cc}, 3)\n", "  - B(4)\n", "net.yaml:6", "unknown name 'cc' in 'cc'; the parameters are c, stride"),
    ("      - Conv2d({c}, {c}, 3, stride={stride * 0})\n", "  - B(4)\n", "net.yaml:6 (entry '0.0')",
     "stride must be positive; got 0 (in 'Conv2d(4, 4, 3, stride=0)', the block's text with its parameters put in)"),
    ("      - Conv2d({c}, {c} 3)\n      - B({c})\n", "  - B(4)\n", "", "uses itself (B → B)"),
    ("      - {layer: ReLU(), when: c}\n", "  - B(4)\n", "net.yaml:6 (entry '0.0')", "'when' must give true or false"),
    ("      - {layer: ReLU(), repeat: '{c / 3}'}\n", "  - B(4)\n", "net.yaml:6 (entry '0.0')", "'repeat' must be a whole number"),
    ("      - Conv2d({c}, {c}, 3)\n", "  - {layer: B(4), from: [input, input]}\n", "net.yaml:8", "takes 1 input (input); got 2"),
    ("      - Conv2d({c}, {c}, 3)\n", "  - Bb(4)\n", "net.yaml:8:5", "unknown layer or block 'Bb'; did you mean 'B'?"),
    ("      - Conv2d({c // 0}, 4, 3)\n", "  - B(4)\n", "net.yaml:6", "division by zero in 'c // 0'"),
    ("      - Conv2d({c ** 999}, 4, 3)\n", "  - B(4)\n", "net.yaml:6", "power too large"),
    ("      - Conv2d({__import__('os')}, 4, 3)\n", "  - B(4)\n", "net.yaml:6", "unknown name '__import__'"),
    ("      - Conv2d({c.real}, 4, 3)\n", "  - B(4)\n", "net.yaml:6", "got an attribute"),
    ("      - Conv2d({'x' * c}, 4, 3)\n", "  - B(4)\n", "net.yaml:6", "expected numbers in arithmetic"),
    ("      - Conv2d({c, 4, 3)\n", "  - B(4)\n", "net.yaml:6", "unmatched '{'"),
])
def test_block_errors(body, uses, where, fragment):
    text = BLOCK_HEAD + body + "layers:\n" + uses
    message = error(text.replace("{c} 3", "{c}, 3"))
    assert message.startswith(where), message
    assert fragment in message, message


@pytest.mark.parametrize("blocks, fragment", [
    ("  Conv2d:\n    layers: [ReLU()]\n", "the block name 'Conv2d' is a layer's name"),
    ("  B:\n    params: [a: 1, b]\n    layers: [ReLU()]\n", "has no default but follows one that has"),
    ("  B:\n    params: [a, a]\n    layers: [ReLU()]\n", "given twice"),
    ("  B:\n    params: [max]\n    layers: [ReLU()]\n", "a parameter name must be an identifier"),
    ("  B:\n    params: {a: 1}\n    layers: [ReLU()]\n", "must be a list such as [in_channels"),
    ("  B:\n    layer: [ReLU()]\n", "unknown key 'layer' in block 'B'; did you mean 'layers'?"),
    ("  B:\n    params: [a: {x: 1}]\n    layers: [ReLU()]\n", "the default of 'a' in block 'B' must be"),
    ("  B:\n    inputs: [x, x]\n    layers: [ReLU()]\n", "names an input twice"),
])
def test_block_definition_errors(blocks, fragment):
    message = error("input: [1, 4, 8, 8]\nblocks:\n" + blocks + "layers: [ReLU()]\n")
    assert message.startswith("net.yaml:") and fragment in message, message


@pytest.mark.parametrize("layers, where", [
    ("  - {layer: ReLU(), repeat: 3}\n  - {layer: ReLU(), form: x}\n", "net.yaml:4 (entry '3')"),
    ("  - {name: g, layers: [ReLU(), {layer: ReLU(), form: x}]}\n", "net.yaml:3 (entry 'g.1')"),
    ("  - {layer: ReLU(), when: false}\n  - {layer: ReLU(), form: x}\n", "net.yaml:4 (entry '0')"),
    ("  - {layer: ReLU(), repeat: '{n}'}\n  - {layer: ReLU(), form: x}\n", "net.yaml:3 (entry '0')"),
    ("  - {name: r, layers: [ReLU(), {layer: ReLU(), form: x}], repeat: 2}\n", "net.yaml:3: "),
])
def test_errors_found_on_reading_name_entries_as_the_network_will(layers, where):
    message = error("input: [1, 3, 8, 8]\nlayers:\n" + layers)
    assert message.startswith(where), message


def test_every_entry_left_out_is_an_error():
    message = error("input: [1, 4]\nlayers:\n  - {layer: ReLU(), when: false}\n")  # the 'layers:' line
    assert message.startswith("net.yaml:2") and "no layers" in message


def test_a_network_too_large_to_expand_is_refused_quickly():
    text = """\
        input: [1, 4]
        blocks:
          A: {layers: [{layer: ReLU(), repeat: 1000}]}
          B: {layers: [{layer: A(), repeat: 1000}]}
        layers: [{layer: B(), repeat: 1000}]
        """
    message = error(text)
    assert "expands to more than 100,000 layers" in message


# ------------------------------------------------------------------ expect and check

def test_amounts():
    assert parse_amount(1200000) == parse_amount("1.2M") == parse_amount("1_200_000") == parse_amount("1.2e6")
    assert parse_amount("2G") == 2 * 10**9 and parse_amount("25.6K") == 25600
    assert parse_amount("120MiB", in_bytes=True) == 120 * 2**20 and parse_amount("3 GB", in_bytes=True) == 3 * 10**9
    assert parse_amount("120MiB") is None and parse_amount("-1") is None and parse_amount("1.2X") is None
    assert parse_amount(True) is None and parse_amount([1]) is None


FAILING = """\
input: [1, 3, 32, 32]
layers:
  - {name: conv, layer: "Conv2d(3, 16, 3, padding=1)"}
  - {name: pool, layer: MaxPool2d(2)}
  - {name: flat, layer: Flatten()}
  - {name: fc, layer: "Linear(4096, 10)"}
expect:
  output_shape: [1, 1000]
  params: 41418
  max_params: 40K
  max_macs: 400K
  max_flops: 100G
  max_activation_bytes: 90KiB
  min_receptive_field: 40
  max_receptive_field: [3, 40]
  entries:
    conv: [1, 16, 32, 32]
    pool: {shape: [1, 16, 8, 8], max_receptive_field: 3}
"""


def test_check_lists_every_failure_with_its_line(tmp_path, capsys):
    path = write(tmp_path, FAILING)
    code, out, err = run(capsys, "check", path)
    assert code == 1 and err == ""
    params = 3 * 16 * 9 + 16 + 4096 * 10 + 10
    macs = 16 * 32 * 32 * 27 + 4096 * 10
    activations = 4 * (16 * 32 * 32 + 16 * 16 * 16 + 16 * 16 * 16 + 10)  # conv, pool, flatten, fc
    assert params == 41418  # the exact params: expected holds
    lines = out.splitlines()
    # the output's receptive field: the Linear after Flatten sees the whole input, with the
    # conv's padding: 32 + 2 positions (CONTRACT section 4); the pool's: 3 + (2 - 1) = 4
    assert lines == [
        f"{path}:8: output_shape: expected shape [1, 1000]; got [1, 10]",
        f"{path}:10: max_params: expected params at most 40,000 (40K); got {params:,}",
        f"{path}:11: max_macs: expected macs at most 400,000 (400K); got {macs:,}",
        f"{path}:13: max_activation_bytes: expected activation_bytes at most 92,160 bytes (90KiB); "
        f"got {activations:,} bytes",
        f"{path}:14: min_receptive_field: expected a receptive field at least 40×40; got 34×34",
        f"{path}:15: max_receptive_field: expected a receptive field at most 3×40; got 34×34",
        f"{path}:18: entries.pool.shape: entry 'pool': expected shape [1, 16, 8, 8]; got [1, 16, 16, 16]",
        f"{path}:18: entries.pool.max_receptive_field: entry 'pool': expected a receptive field at most 3×3; "
        "got 4×4",
        f"FAIL {path}: 8 of 11 expectations failed",
        "checked 1 spec: 0 passed, 1 failed"]


def test_check_statuses_over_several_files(tmp_path, capsys):
    good = write(tmp_path, "input: [1, 3, 8, 8]\nlayers: [ReLU()]\nexpect: {output_shape: [1, 3, 8, 8]}\n", "good.yaml")
    bad = write(tmp_path, "input: [1, 3, 8, 8]\nlayers: [ReLU()]\nexpect: {output_shape: [1, 3, 8, 9]}\n", "bad.yaml")
    broken = write(tmp_path, "input: [1, 3, 8, 8]\nlayers: ['Conv2d(4, 4, 3)']\n", "broken.yaml")
    unreadable = write(tmp_path, "input: [1, 3, 8, 8]\nlayers: [ReLU()\n", "unreadable.yaml")
    assert run(capsys, "check", good)[0] == 0
    assert run(capsys, "check", good, bad)[0] == 1
    code, out, err = run(capsys, "check", good, broken)
    assert code == 1 and f"{broken}:2:11 (entry '0'): Conv2d: expected input with 4 channels" in out
    assert f"FAIL {broken}: the network does not compute" in out
    code, out, err = run(capsys, "check", bad, unreadable, good)
    assert code == 2
    assert err.startswith(f"error: {unreadable}:3:1: invalid YAML") and len(err.strip().splitlines()) <= 3
    assert out.splitlines()[-1] == "checked 3 specs: 1 passed, 1 failed, 1 unreadable"
    code, out, err = run(capsys, "check", tmp_path / "missing.yaml")
    assert code == 2 and "cannot read the spec" in err


def test_check_names_an_unknown_entry_in_expect(tmp_path, capsys):
    path = write(tmp_path, "input: [1, 3, 8, 8]\nlayers: [{name: relu, layer: ReLU()}]\n"
                           "expect:\n  entries:\n    rleu: [1, 3, 8, 8]\n")
    code, out, err = run(capsys, "check", path)
    assert code == 2 and err.startswith(f"error: {path}:5: expect names the entry 'rleu'")
    assert "did you mean 'relu'?" in err


def test_github_annotations(tmp_path, capsys):
    path = write(tmp_path, FAILING, "net, v1.yaml")
    code, out, _ = run(capsys, "check", path, "--format", "github")
    assert code == 1
    lines = out.splitlines()
    escaped = path.replace(":", "%3A").replace(",", "%2C")
    assert lines[0] == (f"::error file={escaped},line=8,title=convcalc check%3A output_shape::"
                        "expected shape [1, 1000]; got [1, 10]")
    assert sum(line.startswith("::error ") for line in lines) == 8
    unreadable = write(tmp_path, "layers: [ReLU(]\n", "u.yaml")
    code, out, _ = run(capsys, "check", unreadable, "-f", "github")
    assert code == 2 and out.startswith(f"::error file={unreadable.replace(':', '%3A')},line=1,title=convcalc%3A "
                                        "unreadable spec::")


def test_junit_report(tmp_path, capsys):
    good = write(tmp_path, "input: [1, 3, 8, 8]\nlayers: [ReLU()]\nexpect: {output_shape: [1, 3, 8, 8]}\n", "g.yaml")
    bad = write(tmp_path, FAILING, "b.yaml")
    unreadable = write(tmp_path, "input: [1, 3, 8, 8]\nlayers: [ReLU(]\n", "u.yaml")
    report = tmp_path / "report.xml"
    code, _, _ = run(capsys, "check", good, bad, unreadable, "--junit-xml", report)
    assert code == 2
    root = ET.parse(report).getroot()
    # a case per expectation plus one that the network computes: (1 + 1) + (1 + 11) + 1 unreadable
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("15", "8", "1")
    suites = {s.get("name"): s for s in root}
    assert suites[bad].get("failures") == "8"
    case = [c for c in suites[bad] if c.get("name") == "max_macs"][0]
    assert case.get("line") == "11" and "expected macs at most 400,000" in case.find("failure").get("message")
    assert suites[unreadable].find("testcase/error") is not None
    code, _, err = run(capsys, "check", good, "--junit-xml", tmp_path / "no" / "dir" / "r.xml")
    assert code == 2 and err.startswith("error: --junit-xml: cannot write the JUnit report")


def test_malformed_expectations_are_unreadable_specs():
    for block, fragment in [("max_macs: lots", "max_macs must be a whole number or a number with a suffix"),
                            ("max_params: 12MiB", "max_params must be"),
                            ("output_shape: 10", "output_shape must be a shape"),
                            ("min_receptive_field: [0]", "min_receptive_field must be a positive"),
                            ("entries: [a]", "'entries' must map entry names"),
                            ("entries: {a: {shap: [1]}}", "did you mean 'shape'?")]:
        message = error(f"input: [1, 3, 8, 8]\nlayers: [ReLU()]\nexpect:\n  {block}\n")
        assert message.startswith("net.yaml:4") and fragment in message, message


def test_pre_commit_hook_runs_check():
    hooks = (ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8")
    assert "id: convcalc-check" in hooks and "entry: convcalc check" in hooks
    assert re.search(r"files: .*ya\?ml", hooks)


# ------------------------------------------------------------------ summary

def test_summary_json_lists_every_layer_under_its_full_name(capsys):
    code, out, err = run(capsys, "summary", ROOT / "examples/tiny_resnet.yaml", "-f", "json", "--depth", "1")
    assert code == 0
    doc = json.loads(out)
    names = [layer["name"] for layer in doc["layers"]]
    assert len(names) == len(set(names)) == 52 and "layer2.0.downsample.1" in names
    total = doc["total"]
    assert total["params"] == TINY_RESNET_PARAMS == sum(layer["params"] for layer in doc["layers"])
    assert total["macs"] == TINY_RESNET_MACS and total["output_shape"] == [1, 10]
    assert total["activation_bytes"] == sum(layer["output_bytes"] for layer in doc["layers"])
    groups = {g["name"]: g for g in doc["groups"]}
    assert groups["layer2.0"]["type"] == "BasicBlock" and groups["layer2"]["type"] == "Sequential"
    assert groups["layer2.0.downsample"]["params"] == 16 * 32 + 64
    assert doc["name"] == "tiny-resnet" and doc["input_shape"] == [1, 3, 32, 32]


def test_summary_csv_and_markdown(capsys):
    code, out, _ = run(capsys, "summary", ROOT / "examples/tiny_unet.yaml", "-f", "csv")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith("index,name,type") and len(lines) == 1 + 37 + 1
    code, out, _ = run(capsys, "summary", ROOT / "examples/tiny_unet.yaml", "-f", "markdown", "--depth", "1")
    assert code == 0
    body = [line for line in out.splitlines() if line.startswith("| ") and "---" not in line][1:-1]
    assert [line.split("|")[1].strip() for line in body] == ["inc", "down1", "down2", "up1", "up2", "outc"]


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
@pytest.mark.parametrize("depth", [None, 1, 2])
def test_folded_rows_add_up_to_the_totals(example, depth):
    result = analyse(str(example))
    shown = display_rows(result, depth)
    total = result.analysis.total
    # a row is a layer or a group; with a depth, the rows at the folding level partition the layers
    leaves = [r for r in shown if r.layer is not None or (depth and len(r.name) - len(r.name.lstrip()) == 2 * (depth - 1))]
    for key in ("params", "macs", "flops", "output_bytes"):
        assert sum(getattr(r, key) for r in leaves) == getattr(total, key), key
    if depth is None:
        assert sum(r.layer is not None for r in shown) == len(result.analysis.layers)
    # a group row is the sum of the rows indented under it
    for i, row in enumerate(shown):
        if row.layer is None and (depth is None or len(row.name) - len(row.name.lstrip()) < 2 * (depth - 1)):
            indent = len(row.name) - len(row.name.lstrip())
            children, j = [], i + 1
            while j < len(shown) and len(shown[j].name) - len(shown[j].name.lstrip()) > indent:
                if len(shown[j].name) - len(shown[j].name.lstrip()) == indent + 2:
                    children.append(shown[j])
                j += 1
            assert row.params == sum(c.params for c in children), row.name
            assert row.macs == sum(c.macs for c in children), row.name


def test_summary_table_at_80_columns_and_folding():
    from rich.console import Console

    from convcalc.render.table import print_table

    result = analyse(str(ROOT / "examples/tiny_resnet.yaml"))
    # 52 layers and 11 groups (3 stages, 6 blocks, 2 projections); 9 top-level rows; + 6 blocks
    for depth, count in [(None, 52 + 11), (1, 9), (2, 9 + 6)]:
        console = Console(width=80, force_terminal=True, color_system=None, record=True)
        with console.capture() as capture:
            print_table(result.analysis, console, rows=display_rows(result, depth), title="tiny-resnet")
        text = capture.get()
        assert all(len(line) <= 80 for line in text.splitlines()), text
        body = [line for line in text.splitlines() if line.startswith("│") and "Total" not in line]
        assert len(body) == count, text
        assert re.search(r"│ Total +│ 52 layers +│ 1×10 +│ +175 K │", text), text
    assert "│   0     │ BasicBlock" in text  # layer1.0 folded, indented under layer1


def test_summary_errors_exit_2_in_one_line(tmp_path, capsys):
    path = write(tmp_path, "input: [1, 3, 8, 8]\nlayers:\n  - {name: s, layer: Add(), from: [input, -1]}\n"
                           "  - 'Conv2d(4, 4, 3)'\n")
    code, out, err = run(capsys, "summary", path)
    assert code == 2 and out == ""
    lines = err.splitlines()
    assert lines[0] == f"error: {path}:4:6 (entry '1'): Conv2d: expected input with 4 channels; got 3 channels " \
                       "in shape [1, 3, 8, 8]"
    assert lines[1:] == ["    - 'Conv2d(4, 4, 3)'", "       ^"]
    assert run(capsys, "summary", path, "--depth", "0")[0] == 2


def test_summary_reads_standard_input(monkeypatch, capsys):
    import io
    import sys

    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"layers: [ReLU()]\n")))
    code, out, _ = run(capsys, "summary", "-", "-i", "1x3x4x4", "-f", "json")
    assert code == 0 and json.loads(out)["source"] == "<stdin>"


# ------------------------------------------------------------------ schema

def _validate(value, schema, root, path="$"):
    """A validator for the subset of JSON Schema that `convcalc schema` writes (the test
    below checks that it writes no other keyword); returns the errors found."""
    if "$ref" in schema:
        return _validate(value, root["definitions"][schema["$ref"].split("/")[-1]], root, path)
    errors = []
    kinds = {"object": dict, "array": list, "string": str, "boolean": bool, "null": type(None)}
    kind = schema.get("type")
    if kind == "integer":
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif kind == "number":
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    else:
        ok = kind is None or isinstance(value, kinds[kind])
    if not ok:
        return [f"{path}: expected {kind}"]
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{path}: not in enum")
    if "const" in schema and value != schema["const"]:
        errors.append(f"{path}: not {schema['const']!r}")
    if "pattern" in schema and isinstance(value, str) and not re.search(schema["pattern"], value):
        errors.append(f"{path}: does not match {schema['pattern']}")
    if "minLength" in schema and isinstance(value, str) and len(value) < schema["minLength"]:
        errors.append(f"{path}: too short")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            errors.append(f"{path}: below the minimum")
        if "maximum" in schema and value > schema["maximum"]:
            errors.append(f"{path}: above the maximum")
    if isinstance(value, list):
        if len(value) < schema.get("minItems", 0):
            errors.append(f"{path}: too few items")
        for i, item in enumerate(value):
            errors += _validate(item, schema.get("items", {}), root, f"{path}[{i}]")
    if isinstance(value, dict):
        if not schema.get("minProperties", 0) <= len(value) <= schema.get("maxProperties", len(value)):
            errors.append(f"{path}: wrong number of keys")
        errors += [f"{path}: missing {k}" for k in schema.get("required", []) if k not in value]
        for key, item in value.items():
            if "propertyNames" in schema:
                errors += _validate(key, schema["propertyNames"], root, f"{path}.{key}(name)")
            if key in schema.get("properties", {}):
                errors += _validate(item, schema["properties"][key], root, f"{path}.{key}")
            elif schema.get("additionalProperties") is False:
                errors.append(f"{path}: unexpected key {key}")
            elif isinstance(schema.get("additionalProperties"), dict):
                errors += _validate(item, schema["additionalProperties"], root, f"{path}.{key}")
    if "not" in schema and not _validate(value, schema["not"], root, path):
        errors.append(f"{path}: matches what it must not")
    if "anyOf" in schema and all(_validate(value, s, root, path) for s in schema["anyOf"]):
        errors.append(f"{path}: matches none of anyOf")
    if "oneOf" in schema and sum(not _validate(value, s, root, path) for s in schema["oneOf"]) != 1:
        errors.append(f"{path}: does not match exactly one of oneOf")
    return errors


KNOWN_KEYWORDS = {"$schema", "$id", "$ref", "title", "description", "examples", "type", "properties", "required",
                  "additionalProperties", "propertyNames", "items", "minItems", "minLength", "minimum", "maximum",
                  "minProperties", "maxProperties", "enum", "const", "pattern", "not", "anyOf", "oneOf", "definitions"}


def _keywords(schema, found):
    if isinstance(schema, dict):
        for key, value in schema.items():
            found.add(key)
            if key in ("properties", "definitions"):
                for sub in value.values():
                    _keywords(sub, found)
            elif key not in ("enum", "const", "examples"):
                _keywords(value, found)
    elif isinstance(schema, list):
        for item in schema:
            _keywords(item, found)
    return found


def _schema(capsys):
    code, out, _ = run(capsys, "schema")
    assert code == 0
    return json.loads(out)


def _yaml(path):
    import yaml
    return yaml.safe_load(Path(path).read_text(encoding="utf-8"))


def test_schema_uses_only_what_the_small_validator_knows(capsys):
    schema = _schema(capsys)
    assert _keywords(schema, set()) <= KNOWN_KEYWORDS
    assert schema["$schema"] == "http://json-schema.org/draft-07/schema#"
    assert set(schema["definitions"]) >= {"block", "entry", "expect"}


@pytest.mark.parametrize("amount", [152, 1.5, "1.2M", "120MiB"])
def test_schema_takes_plain_and_suffixed_amounts(amount, capsys):
    """An integer is a JSON number too: it must match exactly one branch of the amount's oneOf."""
    schema = _schema(capsys)
    doc = {"input": [1, 3, 8, 8], "layers": ["ReLU()"], "expect": {"params": amount, "max_macs": amount}}
    assert _validate(doc, schema, schema) == []
    assert _validate({**doc, "expect": {"params": -1}}, schema, schema) != []


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_examples_validate_against_the_schema(example, capsys):
    schema = _schema(capsys)
    assert _validate(_yaml(example), schema, schema) == []
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.Draft7Validator(schema).validate(_yaml(example))


@pytest.mark.parametrize("text", [
    "layer: [ReLU()]\n", "layers: []\n", "layers: [{layer: ReLU(), form: x}]\n", "layers: [{name: a}]\n",
    "layers: [{layer: ReLU(), layers: [ReLU()]}]\n", "layers: [ReLU()]\nexpect: {max_mac: 1}\n",
    "layers: [ReLU()]\nexpect: {max_macs: lots}\n", "layers: [ReLU()]\ninput: 224\n",
    "layers: [{layer: ReLU(), from: 2}]\n", "layers: [{layer: ReLU(), repeat: -1}]\n",
    "blocks: {B: {layer: [ReLU()]}}\nlayers: [ReLU()]\n", "layers: [{name: input, layer: ReLU()}]\n",
    "blocks: {B: {params: [{a: {x: 1}}], layers: [ReLU()]}}\nlayers: [ReLU()]\n",
    "layers: [ReLU()]\ndtype: float33\n",
])
def test_what_the_loader_refuses_the_schema_refuses(text, capsys):
    import yaml

    schema = _schema(capsys)
    assert _validate(yaml.safe_load(text), schema, schema) != []
    with pytest.raises(ConvcalcError):
        net(text, input="1x3x8x8")
    jsonschema = pytest.importorskip("jsonschema")
    assert not jsonschema.Draft7Validator(schema).is_valid(yaml.safe_load(text))


def test_the_contract_example_and_the_block_specs_validate(capsys):
    import yaml

    schema = _schema(capsys)
    for text in (CONTRACT_SPEC, BLOCKS):
        assert _validate(yaml.safe_load(text), schema, schema) == []


# ------------------------------------------------------------------ the file itself

def test_loader_keeps_lines_and_columns_and_reads_data_only():
    spec = load_text("input: [1, 3, 8, 8]\nlayers:\n  - 'Conv2d(3, 4, 3)'\n  - {layer:   ReLU()}\n", "x.yaml")
    (first, second) = spec.entries
    assert (first.line, first.column) == (3, 6) and (second.lines["layer"], second.column) == (4, 15)


def test_anchors_aliases_and_merge_keys():
    r = rows(net("""\
        input: [1, 4, 8, 8]
        layers:
          - &conv {name: a, layer: "Conv2d(4, 4, 3, padding=1)"}
          - {<<: *conv, name: b}
          - *conv
        """.replace("- *conv\n", "- {<<: *conv, name: c, from: input}\n")))
    assert [r[n].spec for n in "abc"] == ["Conv2d(4, 4, 3, padding=1)"] * 3 and r["c"].inputs == ("input",)


@pytest.mark.parametrize("data, fragment", [
    (b"layers:\n  - !!python/object/apply:os.system ['true']\n", "the tag '!!python/object/apply:os.system' is not allowed"),
    (b"layers: !!binary aGVsbG8=\n", "the tag '!!binary' is not allowed"),
    (b"layers: !local [ReLU()]\n", "the tag '!local' is not allowed"),
    (b"layers: &a [*a]\n", "the alias *a refers to the mapping or list that contains it"),
    (b"layers: *nothing\n", "unknown alias *nothing"),
    (b"layers: [ReLU()]\n---\nlayers: [ReLU()]\n", "expected one YAML document"),
    (b"layers:\n\t- ReLU()\n", "invalid YAML"),
    (b"layers: [ReLU()\n", "invalid YAML"),
    (b"layers: [ReLU()]\n# caf\xe9\n", "expected UTF-8 text; got byte 0xe9"),
    (b"\xff\xfel\x00a\x00", "got UTF-16"),
    (b"layers: [ReLU()]\x00", "got byte 0x00"),
    (b"layers: [ReLU()]\x07\n", "control characters are not allowed"),
    (b"{[a]: 1}\n", "as a key"),
])
def test_malformed_yaml_is_one_line(tmp_path, capsys, data, fragment):
    path = tmp_path / "bad.yaml"
    path.write_bytes(data)
    code, out, err = run(capsys, "summary", path, "-i", "1x3x8x8")
    assert code == 2 and out == ""
    assert err.startswith(f"error: {path}") and fragment in err.splitlines()[0], err
    assert len(err.splitlines()) <= 3 and "Traceback" not in err


def test_the_readmes_complete_example_passes_check(tmp_path, capsys):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Network specs (YAML)"):]
    example = re.search(r"```yaml\n(.*?)```", section, re.S).group(1)
    path = write(tmp_path, example)
    code, out, err = run(capsys, "check", path)
    assert code == 0, out + err
    names = [r.name for r in analyse(path).analysis.layers]
    assert names[:2] == ["stem", "stage1.0.conv1"] and "stage2.shortcut" in names and "4" in names
    assert "stage1.0.shortcut" not in names


def test_github_warns_at_an_entry_nothing_reads(tmp_path, capsys):
    path = write(tmp_path, "input: [1, 3, 8, 8]\nlayers:\n  - {name: lost, layer: ReLU()}\n"
                           "  - {layer: ReLU(), from: input}\n", "w.yaml")
    code, out, err = run(capsys, "check", path, "-f", "github")
    assert code == 0 and out.splitlines()[0].startswith(f"::warning file={path.replace(':', '%3A')},line=3,")
    code, out, err = run(capsys, "check", path)
    assert code == 0 and err.startswith(f"warning: {path}:3 (entry 'lost'): no entry reads")


def test_only_the_commands_that_read_a_spec_import_yaml():
    import subprocess
    import sys

    code = ("import sys, io, contextlib\nfrom convcalc.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            "    main(['shape', 'Conv2d(3, 8, 3)', '-i', '1x3x8x8'])\n"
            "print('yaml' in sys.modules, 'convcalc.network' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True).stdout
    assert out.split() == ["False", "False"]
    imports = [line for path in (ROOT / "convcalc").rglob("*.py") if path.name != "loader.py"
               for line in path.read_text(encoding="utf-8").splitlines() if re.match(r"\s*(import|from) yaml\b", line)]
    assert imports == []


@pytest.mark.parametrize("command", ["summary", "check", "schema"])
def test_help_is_80_columns_and_its_examples_run(capsys, command, monkeypatch):
    import glob
    import shlex

    monkeypatch.chdir(ROOT)
    code, out, err = run(capsys, command, "-h")
    assert code == 0 and out.splitlines()[0].startswith(f"Usage: convcalc {command} ")
    assert max(len(line) for line in out.splitlines()) <= 80
    examples = [line.strip() for line in out.split("Examples:\n")[1].splitlines() if line.strip()]
    ran = 0
    for example in examples:
        argv = [p for a in shlex.split(example.split(">")[0])[1:] for p in (sorted(glob.glob(a)) or [a])]
        if any(a.endswith(".yaml") and not Path(a).exists() for a in argv):
            continue  # the user's own file
        code, _, err = run(capsys, *argv)
        assert code == 0, (example, err)
        ran += 1
    assert ran >= 1


def test_placeholders_are_written_as_python_literals():
    r = rows(net("""\
        input: [1, 4, 8, 8]
        blocks:
          B:
            params: [mode: bilinear, k: [1, 3], eps: 0.00001, bias: no]
            layers:
              - Upsample(scale_factor=2, mode={mode})
              - Conv2d(4, 4, kernel_size={k}, padding={(0, 1)}, bias={bias})
              - BatchNorm2d(4, eps={eps})
        layers: [B()]
        """))
    assert r["0.0"].spec == "Upsample(scale_factor=2, mode='bilinear')"
    assert r["0.1"].spec == "Conv2d(4, 4, kernel_size=(1, 3), padding=(0, 1), bias=False)"
    assert r["0.1"].output_shape == (1, 4, 16, 16) and r["0.1"].params == 4 * 4 * 3
    assert r["0.2"].spec == "BatchNorm2d(4, eps=1e-05)"


@pytest.mark.parametrize("text, where, fragment", [
    ("layers:\n  - {<<: [1], layer: ReLU()}\n", "net.yaml:2:", "expected a mapping (or a list of mappings) after '<<'"),
    ("layers:\n  - {name: g, layers: [ReLU()], from: [input, input]}\n", "net.yaml:2 (entry 'g')",
     "a group ('layers:') reads one input; got 'from' with 2"),
    ("layers:\n  - {name: a, layer: ReLU(), from: b, when: false}\n  - {name: b, layer: ReLU(), from: a, when: false}\n"
     "  - {layer: Add(), from: [a, input]}\n", "net.yaml:", "entries left out by 'when' read each other in a circle"),
    ("layers:\n  - {layer: ReLU(), from: []}\n", "net.yaml:2 (entry '0')", "'from' is an empty list"),
    ("layers:\n  - {name: 'my conv', layer: ReLU()}\n", "net.yaml:2", "'name' must be a word without spaces"),
    ("layers:\n  - {name: 'c{i}', layer: ReLU()}\n", "net.yaml:2", "'name' cannot hold placeholders"),
    ("layers:\n  - {name: .a, layer: ReLU()}\n", "net.yaml:2", "'name' cannot start with '-'"),
    ("layers:\n  - {layer: 'Add()', from: [input, input], repeat: 2}\n", "net.yaml:2 (entry '0')",
     "'repeat' needs an entry with one input"),
    ("layers:\n  - {layer: ReLU(), when: 3}\n", "net.yaml:2 (entry '0')", "'when' must be a condition"),
    ("layers:\n  - {layer: ReLU(), when: 'x >'}\n", "net.yaml:2 (entry '0')", "cannot read the expression 'x >'"),
    ("blocks: [B]\nlayers: [ReLU()]\n", "net.yaml:1", "'blocks' must be a mapping of block names"),
    ("blocks:\n  my-block: {layers: [ReLU()]}\nlayers: [ReLU()]\n", "net.yaml:2", "a block name must be an identifier"),
    ("blocks:\n  B: [ReLU()]\nlayers: [ReLU()]\n", "net.yaml:2", "block 'B' must be a mapping with 'layers'"),
    ("blocks:\n  B: {params: [a]}\nlayers: [ReLU()]\n", "net.yaml:2", "block 'B' has no 'layers'"),
    ("blocks:\n  B: {inputs: x, layers: [ReLU()]}\nlayers: [ReLU()]\n", "net.yaml:2", "'inputs' of block 'B' must be a list"),
    ("blocks:\n  B: {inputs: [x-1], layers: [ReLU()]}\nlayers: [ReLU()]\n", "net.yaml:2", "an input name must be"),
    ("blocks:\n  B: {params: [[a]], layers: [ReLU()]}\nlayers: [ReLU()]\n", "net.yaml:2", "is a name (required)"),
    ("expect: [1]\nlayers: [ReLU()]\n", "net.yaml:1", "'expect' must be a mapping"),
    ("description: 3\nlayers: [ReLU()]\n", "net.yaml:1", "'description' must be a string"),
    ("name: [a]\nlayers: [ReLU()]\n", "net.yaml:1", "'name' must be a string; got a list"),
    ("layers:\n  - {layer: 'B(1)', from: input}\nblocks:\n  B: {params: [c], inputs: [x, y], layers: [ReLU()]}\n",
     "net.yaml:2 (entry '0')", "block 'B' takes 2 inputs (x, y); got 1"),
    ("layers:\n  - {layer: 'Conv2d(3, 3, 1)', from: stem.x}\n  - {name: stem, layer: ReLU()}\n", "net.yaml:2",
     "unknown reference 'stem.x'"),
    ("layers:\n  - {layer: 'Conv2d(3, 3, 1)', from: '3'}\n", "net.yaml:2",
     "(an unnamed entry is named by its position in its list, from 0)"),
])
def test_more_errors_name_the_file_line_and_entry(text, where, fragment):
    message = error(text, input="1x3x8x8")
    assert message.startswith(where) and fragment in message, message


def test_an_unknown_dtype_or_convention_is_named():
    assert error("layers: [ReLU()]\n", input="1x3", dtype="float33").startswith("--dtype: unknown dtype 'float33'")
    assert error("layers: [ReLU()]\n", input="1x3", convention="nope").startswith("--convention: unknown convention")
