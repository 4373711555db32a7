"""The generated classes read as torchvision's own: one name per value, no dead arguments.

Each test holds one reviewer's complaint against the code generator (never a model special
case): a `let` that only names another value, a width written twice, a constructor argument
that nothing reads. Expected texts are written from the blueprints in blueprints/lib and from
torchvision's classes (PartitionAttentionLayer, MobileNetV3, SqueezeExcitation), not pasted
from netgen's output. Codegen only: no torch.
"""

import ast
import inspect

from conftest import BLUEPRINTS, write_blueprint

import netgen


def class_source(source: str, name: str) -> str:
    node = next(n for n in ast.parse(source).body if isinstance(n, ast.ClassDef) and n.name == name)
    return ast.get_source_segment(source, node) or ""


def init_params(source: str, name: str) -> list[str]:
    """The constructor's parameters, as inspect reads them from the class the source defines."""
    namespace: dict = {}
    exec(compile(class_source(source, name), "<generated>", "exec"),  # noqa: S102 (netgen's own output)
         {"nn": _Stub(), "torch": _Stub()}, namespace)
    return list(inspect.signature(namespace[name].__init__).parameters)[1:]


class _Stub:
    """Enough of `nn` for a class statement to run (its bases), nothing of its bodies."""

    Module = Sequential = object

    def __getattr__(self, name):
        return object


ALIASED = """netgen: 1
name: aliased
input: [3, 8, 8]
blocks:
  mixer:
    params: {ratio: 2}
    let: {dim: $in_channels, hidden: "${dim * ratio}"}
    body:
      - conv: {out: $hidden, k: 1, name: expand}
      - relu
      - conv: {out: $dim, k: 1, name: project}
network:
  - conv: {out: 4, k: 3, pad: 1}
  - mixer: {ratio: 3}
"""


def test_a_let_that_only_names_another_value_is_that_value(tmp_path):
    """`let: {dim: $in_channels}` gives one number two names; the class says `in_channels`
    wherever the blueprint reads `dim` (torchvision's PartitionAttentionLayer takes in_channels
    and uses it throughout), later lets included."""
    source = netgen.python_source(write_blueprint(tmp_path, ALIASED))
    mixer = class_source(source, "Mixer")
    assert "dim = " not in mixer
    assert "hidden = in_channels * ratio" in mixer
    assert "self.expand = nn.Conv2d(in_channels, hidden, kernel_size=1)" in mixer
    assert "self.project = nn.Conv2d(hidden, in_channels, kernel_size=1)" in mixer
    assert init_params(source, "Mixer") == ["in_channels", "ratio"]


def test_maxvit_attention_layer_names_its_width_once():
    source = netgen.python_source(BLUEPRINTS / "maxvit_t.yaml")
    layer = class_source(source, "MaxvitAttentionLayer")
    assert "dim = " not in layer and "dim //" not in layer and "dim *" not in layer
    assert "dim" not in init_params(source, "MaxvitAttentionLayer")
    assert "PartitionAttention(\n                in_channels, in_channels // head_dim, size," in layer
    assert "nn.Linear(in_channels, in_channels * mlp_ratio)," in layer
    assert "nn.Linear(in_channels * mlp_ratio, in_channels)," in layer
    # SqueezeExcitation's `channels: $in_channels` alike (torchvision: fc2 back to input_channels)
    assert "self.fc2 = nn.Conv2d(squeeze, in_channels, kernel_size=1)" in class_source(source, "SqueezeExcitation")


def test_mobilenet_v3_writes_the_stem_width_once():
    """torchvision: `firstconv_output_channels = inverted_residual_setting[0].input_channels`, then
    the stem conv to it; the loop's running channels start there."""
    source = netgen.python_source(BLUEPRINTS / "mobilenet_v3_large.yaml")
    features = class_source(source, "MobilenetV3Features")
    width = "make_divisible(rows[0][0] * width_mult, 8)"
    assert features.count(width) == 1
    stem = f"""        channels = {width}
        layers = [
            ConvNormAct(in_channels, out=channels, stride=2, act="hardswish", eps=0.001, momentum=0.01),
        ]
        for i in range(len(rows)):
"""
    assert stem in features
    # and each iteration's width once: at the top of the iteration, read by the block and the update
    made = "make_divisible(rows[i][3] // (divider if rows[i][7] else 1) * width_mult, 8)"
    assert features.count(made) == 1
    assert f"            out_channels = {made}\n            layers.append(\n" in features
    assert "                    out=out_channels,\n" in features and "            channels = out_channels\n" in features


def test_the_inference_builds_conv_norm_act_takes_no_argument_of_its_folded_norm():
    """The inference build folds BN into the conv: ConvNormAct's eps and momentum configure
    nothing there, so neither its constructor nor its calls carry them; the training build's
    class still takes them (torchvision's Conv2dNormActivation builds its norm with them)."""
    declared = ["in_channels", "out", "k", "stride", "groups", "dilation", "act"]
    training = netgen.python_source(BLUEPRINTS / "mobilenet_v3_large.yaml")
    assert init_params(training, "ConvNormAct") == [*declared, "eps", "momentum"]
    inference = netgen.python_source(BLUEPRINTS / "mobilenet_v3_large.yaml", inference=True)
    assert init_params(inference, "ConvNormAct") == declared
    assert "eps=" not in inference and "momentum=" not in inference
    assert 'ConvNormAct(in_channels, out=channels, stride=2, act="hardswish"),' in inference
    # ConvNeXt's drop path is left out at inference: its rate is no argument there
    convnext = netgen.python_source(BLUEPRINTS / "convnext_tiny.yaml", inference=True)
    assert init_params(convnext, "CnBlock") == ["in_channels", "layer_scale"]
    assert "CnBlock(96)," in convnext


def test_an_op_choice_under_a_condition_is_tested_without_extra_brackets():
    source = netgen.python_source(BLUEPRINTS / "mobilenet_v3_large.yaml")
    assert '        if act != "none" and act not in ("hardswish", "relu"):\n' in class_source(source, "ConvNormAct")


UNREAD = """netgen: 1
name: unread
input: [3, 8, 8]
blocks:
  unit:
    params: {out: int, spare: 0.5}
    body:
      - conv: {out: $out, k: 3, pad: 1}
      - relu
network:
  - unit: {out: 4, spare: 0.25}
  - seq:
      name: inner
      body:
        - unit: {out: 6, spare: 0.75}
"""


def test_a_declared_param_nothing_reads_is_no_argument(tmp_path):
    """`spare` configures nothing the class builds: no constructor argument, and no call passes it."""
    source = netgen.python_source(write_blueprint(tmp_path, UNREAD))
    assert init_params(source, "Unit") == ["in_channels", "out"]
    assert "spare" not in source


def test_convnext_blocks_class_takes_its_declared_params():
    """CnBlock(in_channels, layer_scale, drop), as torchvision's CNBlock(dim, layer_scale,
    stochastic_depth_prob); its layer scale multiplies from the left (`self.layer_scale * out`),
    which the class check must read as the graph's product (it kept the scope classes, whose
    constructor took `out_features` and `p`)."""
    source = netgen.python_source(BLUEPRINTS / "convnext_tiny.yaml")
    assert init_params(source, "CnBlock") == ["in_channels", "layer_scale", "drop"]
    assert "out = self.layer_scale * out" in class_source(source, "CnBlock")
    assert "CnBlock(96, drop=0.0058823529411764705)," in source


def test_swin_blocks_class_passes_its_dropout_rates_to_the_window_attention():
    """The class must apply `attention_dropout` and `dropout` whatever the instances' rates (at 0,
    the rates were left out of the call, and the class took params it ignored)."""
    source = netgen.python_source(BLUEPRINTS / "swin_t.yaml")
    block = class_source(source, "SwinBlock")
    assert "attention_dropout=attention_dropout,\n            dropout=dropout,\n        )" in block
    assert init_params(source, "SwinBlock")[-2:] == ["dropout", "attention_dropout"]


def test_class_names_keep_two_numbers_apart():
    """RegNetY-1.6GF was `RegnetY16gf`, the name of RegNetY-16GF's class; ResNeXt-50 32x4d read
    `Resnext5032x4d`. Where two numbers meet, the `_` between them stays."""
    from netgen.codegen.naming import camel

    assert camel("regnet_y_1_6gf") == "RegnetY1_6gf" != camel("regnet_y_16gf") == "RegnetY16gf"
    assert camel("resnext50_32x4d") == "Resnext50_32x4d" and camel("vit_b_16") == "VitB16"
    assert "class ShufflenetV2X1_0(nn.Module):" in netgen.python_source(BLUEPRINTS / "shufflenet_v2_x1_0.yaml")
    assert "class WideResnet50_2(nn.Module):" in netgen.python_source(BLUEPRINTS / "wide_resnet50_2.yaml")


def test_a_numbered_child_of_a_named_sequence_is_indexed_not_fetched_by_getattr():
    """MaxViT's `blocks.0.layers`: torchvision indexes an nn.Sequential; `getattr(self.blocks, "0")`
    said the same in a way no one writes (tests/test_library_zoo_maxvit.py holds the keys)."""
    source = netgen.python_source(BLUEPRINTS / "maxvit_t.yaml")
    assert "getattr(" not in source
    assert '        self.blocks.add_module("0", nn.Sequential())\n        self.blocks[0].add_module(\n' in source
    assert '        self.blocks[3].add_module(\n            "layers",\n' in source


def test_an_auxiliary_heads_logits_are_named_for_the_output_they_are():
    """Inception v3's forward held its auxiliary logits in `x` and moved the trunk to `Mixed_7a`,
    `out`; torchvision's keeps the trunk in `x` and the head's logits in `aux`. A value of
    training mode only is named after the network output it is; the trunk keeps the chain."""
    source = netgen.python_source(BLUEPRINTS / "inception_v3.yaml")
    forward = class_source(source, "InceptionV3").split("def forward(self, x):")[1]
    assert "        if self.training:\n            aux_logits = self.AuxLogits(Mixed_6e)  # 1000\n" \
           "        x = self.Mixed_7a(Mixed_6e)  # 1280×8×8\n        x = self.Mixed_7b(x)" in forward
    assert "return InceptionV3Outputs(x, aux_logits)" in forward and "out =" not in forward
    googlenet = netgen.python_source(BLUEPRINTS / "googlenet.yaml")
    assert "aux_logits1 = self.aux1(inception4a)" in googlenet
    assert "return GooglenetOutputs(x, aux_logits2, aux_logits1)" in googlenet
