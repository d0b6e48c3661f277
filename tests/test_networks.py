"""convcalc against PyTorch on whole plain-chain networks (no torch needed at test time).

tests/fixtures/record_networks.py built each network (AlexNet, VGG-16 with and without
BatchNorm, the DCGAN generator and discriminator, a MobileNetV1 chain, a small 3-D video
chain, a dilated 1-D TCN chain, an encoder-decoder with Upsample/ConvTranspose/
PixelShuffle, LeNet-5) as one nn.Sequential, saved `str(model)` to
tests/fixtures/networks/<name>.txt and recorded, with forward hooks on the leaf modules,
every leaf's output shape, parameters and MACs, plus the totals
(tests/fixtures/networks.json).  Here convcalc reads the printed model with `@file` and
must agree layer by layer.
"""
from __future__ import annotations

import json
import pathlib

import pytest

import convcalc

FIXTURES = pathlib.Path(__file__).parent / "fixtures"

with (FIXTURES / "networks.json").open() as _f:
    NETWORKS = json.load(_f)["networks"]

IDS = [n["name"] for n in NETWORKS]

REQUIRED = ["alexnet", "vgg16", "vgg16_bn", "dcgan_generator", "dcgan_discriminator",
            "mobilenet_v1", "video_c3d_small", "tcn_dilated", "encoder_decoder", "lenet5"]

_CACHE: dict[str, object] = {}


def analysis(net):
    """convcalc's analysis of the printed model (computed once per network)."""
    if net["name"] not in _CACHE:
        path = FIXTURES / net["file"]
        _CACHE[net["name"]] = convcalc.analyze(["@" + str(path)], input_shape=tuple(net["input_shape"]))
    return _CACHE[net["name"]]


def test_every_required_network_is_recorded():
    assert set(REQUIRED) <= set(IDS)
    for net in NETWORKS:
        assert (FIXTURES / net["file"]).is_file(), net["file"]


@pytest.mark.parametrize("net", NETWORKS, ids=IDS)
def test_layer_output_shapes(net):
    a = analysis(net)
    got = [list(row.output_shape) for row in a.layers]
    want = [row["output_shape"] for row in net["layers"]]
    assert len(got) == len(want), (len(got), len(want))
    for row, g, w in zip(net["layers"], got, want):
        assert g == w, f"{net['name']} {row['name']} ({row['type']}): convcalc {g}, torch {w}"
    assert list(a.total.output_shape) == net["output_shape"]


@pytest.mark.parametrize("net", NETWORKS, ids=IDS)
def test_totals(net):
    a = analysis(net)
    assert a.total.params == net["params"]
    assert a.total.macs == net["macs"]
    assert a.total.flops >= 2 * a.total.macs


@pytest.mark.parametrize("net", NETWORKS, ids=IDS)
def test_layer_params_and_macs(net):
    a = analysis(net)
    assert len(a.layers) == len(net["layers"])
    for got, want in zip(a.layers, net["layers"]):
        assert (got.params, got.macs) == (want["params"], want["macs"]), (
            f"{net['name']} {want['name']} ({want['type']}): convcalc params/MACs "
            f"{got.params}/{got.macs}, torch {want['params']}/{want['macs']}")
        assert got.flops >= 2 * got.macs


@pytest.mark.parametrize("net", NETWORKS, ids=IDS)
def test_layer_names_and_types(net):
    """`(name): Layer(...)` lines take their container path as the name, as
    `model.named_modules()` spells it (e.g. `features.0`)."""
    a = analysis(net)
    got = [(row.name, row.type) for row in a.layers]
    want = [(row["name"], row["type"]) for row in net["layers"]]
    assert got == want
