"""Receptive fields against a gradient measurement in torch (issue 15).

The field of an output position is the set of input pixels it depends on. torch measures it:
the gradient of that one position (summed over channels) with respect to the input is non-zero
exactly on those pixels, provided nothing cancels or blocks a gradient. So the module netgen
builds is made a pure dependency network first: conv and transposed-conv weights all equal
and positive, biases zero, batch norm the identity, max pools replaced by average pools over
the same windows (a max passes gradient to one pixel of its window only), and a positive
input. Activations then pass every gradient (their inputs stay positive and small).

For each probed node and position, the rows and columns with non-zero gradient must be exactly
the interval netgen predicts (`Axis.at`), not just its size; positions are chosen where that
interval lies inside the image, since the measurement cannot see past the border. U-Net's
crops are functional ops without a module: their field is read from the channels of the
concatenation that holds them.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

import netgen
from netgen.analysis import receptive_fields
from netgen.codegen.module import build_module


def dependency_network(graph, name):
    model = build_module(graph, name).eval()
    for parent in list(model.modules()):
        for child_name, child in list(parent.named_children()):
            if isinstance(child, nn.MaxPool2d):
                setattr(parent, child_name, nn.AvgPool2d(child.kernel_size, child.stride, child.padding,
                                                         ceil_mode=child.ceil_mode))
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
                module.weight.fill_(1.0 / module.weight[0].numel())
                if module.bias is not None:
                    module.bias.zero_()
            elif isinstance(module, nn.BatchNorm2d):
                module.weight.fill_(1.0)
                module.bias.zero_()
                module.running_mean.zero_()
                module.running_var.fill_(1.0)
    return model


def measured_span(model, shape, module_name, position, channels=None, at_input=False):
    """Rows and columns of the input whose gradient is non-zero, for one position of a module's
    output (or of its input: the tensor its caller passed in)."""
    captured = {}
    module = dict(model.named_modules())[module_name]

    def hook(mod, inputs, output):
        captured["t"] = inputs[0] if at_input else output

    handle = module.register_forward_hook(hook)
    x = torch.full((1, *shape), 1e-3, requires_grad=True)  # small: residual sums stay below ReLU6
    try:
        model(x)
    finally:
        handle.remove()
    t = captured["t"]
    selected = t[0, channels] if channels is not None else t[0]
    selected[..., position[0], position[1]].sum().backward()
    support = (x.grad[0].abs().sum(0) > 0).nonzero()
    rows, cols = support[:, 0], support[:, 1]
    return (int(rows.min()), int(rows.max())), (int(cols.min()), int(cols.max()))


def interior_positions(field, out_hw, in_hw, limit):
    """Output positions whose predicted interval lies inside the input, along each axis."""
    per_axis = []
    for a in range(2):
        inside = [o for o in range(out_hw[a]) if field.axes[a].at(o)[0] >= 0 and field.axes[a].at(o)[1] < in_hw[a]]
        per_axis.append(inside)
    if not per_axis[0] or not per_axis[1]:
        return []
    rows, cols = per_axis
    middle = cols[len(cols) // 2]
    return [(r, middle) for r in rows[len(rows) // 2: len(rows) // 2 + limit]]


# model, overrides, nodes probed (None: four module outputs spread over the network)
CASES = {
    "lenet5": ({}, None),
    "resnet20": ({"input": (3, 128, 128)}, None),
    "squeezenet1_1": ({"input": (3, 160, 160)}, None),
    "alexnet": ({"input": (3, 320, 320)}, ["features.12", "classifier.1"]),  # pool5; the linear after dropout
    "googlenet": ({"input": (3, 192, 192)}, None),
    "mobilenet_v2": ({"input": (3, 160, 160)}, None),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_fields_equal_the_gradient_support(name):
    overrides, nodes = CASES[name]
    graph = netgen.compile_blueprint(name, input=overrides.get("input"))
    fields = receptive_fields(graph)
    model = dependency_network(graph, name)
    shape = tuple(graph[graph.inputs[0]].shape)
    modules = dict(model.named_modules())
    candidates = [n for n, data in graph.ops() if n in modules and len(data.shape) == 3
                  and not fields[n].is_global and fields[n].axes is not None]
    if nodes is None:
        step = max(1, len(candidates) // 4)
        nodes = candidates[step - 1::step][:4]
    probed = 0
    for node in nodes:
        at_input = len(graph[node].shape) != 3  # a vector: read the map before flatten
        if at_input:  # classifier.1's input is flatten -> dropout of pool5's map: the same field
            source = graph.inputs_of(node)[0]
            field, c, h, w = fields[source], *graph[graph.inputs_of(graph.inputs_of(source)[0])[0]].shape
            positions = interior_positions(field, (h, w), shape[1:], 1)
            for (r, q) in positions:
                index = [k * h * w + r * w + q for k in range(c)]
                support = measured_span_vector(model, shape, node, index)
                assert support == (field.axes[0].at(r), field.axes[1].at(q)), f"{name} {node} at {(r, q)}"
                probed += 1
            continue
        field, out = fields[node], graph[node].shape
        for position in interior_positions(field, out[1:], shape[1:], 1):
            expected = (field.axes[0].at(position[0]), field.axes[1].at(position[1]))
            assert measured_span(model, shape, node, position) == expected, f"{name} {node} at {position}"
            probed += 1
    assert probed >= 2, f"{name}: too few positions inside the image to measure"


def measured_span_vector(model, shape, module_name, elements):
    """As measured_span, for some elements of a vector a module receives."""
    captured = {}
    module = dict(model.named_modules())[module_name]
    handle = module.register_forward_hook(lambda mod, inputs, output: captured.update(t=inputs[0]))
    x = torch.full((1, *shape), 1e-3, requires_grad=True)  # small: residual sums stay below ReLU6
    try:
        model(x)
    finally:
        handle.remove()
    captured["t"][0, elements].sum().backward()
    support = (x.grad[0].abs().sum(0) > 0).nonzero()
    return (int(support[:, 0].min()), int(support[:, 0].max())), (int(support[:, 1].min()), int(support[:, 1].max()))


def test_unet_fields_depend_on_the_position_and_crops_see_only_the_encoder():
    """The issue's rows: crop4..crop1 see 68/32/14/5 (only the encoder map reaches them), and
    after the 2x2 up-convolutions dec3.conv1 sees 172 to 188 pixels depending on the position.
    A narrow, small U-Net has the same fields (they depend on kernels and strides only)."""
    graph = netgen.compile_blueprint("unet", base=2, size=188)
    fields = receptive_fields(graph)
    assert [fields[f"crop{i}"].text() for i in (4, 3, 2, 1)] == ["68/8", "32/4", "14/2", "5/1"]
    assert fields["dec3.conv1"].text() == "172–188/4"
    model = dependency_network(graph, "unet")
    shape = tuple(graph[graph.inputs[0]].shape)
    for i in (4, 3, 2, 1):
        crop = fields[f"crop{i}"]
        c, h, w = graph[f"crop{i}"].shape
        position = (h // 2, w // 2)
        expected = (crop.axes[0].at(position[0]), crop.axes[1].at(position[1]))
        # dec{i}.conv1 receives concat([crop, up]): its first c channels are the crop
        measured = measured_span(model, shape, f"dec{i}.conv1", position, channels=slice(0, c), at_input=True)
        assert measured == expected, f"crop{i}"
        assert measured[0][1] - measured[0][0] + 1 == int(crop.text().split("/")[0])
    field = fields["dec3.conv1"]
    sizes = set()
    for row in range(graph["dec3.conv1"].shape[1]):
        rows, _ = measured_span(model, shape, "dec3.conv1", (row, 2))
        assert rows == field.axes[0].at(row), f"dec3.conv1 row {row}"
        sizes.add(rows[1] - rows[0] + 1)
    assert min(sizes) == 172 and max(sizes) == 188
