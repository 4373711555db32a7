"""One class per block definition, written from the blueprint's own text.

For a block the blueprint defines (`bottleneck`), the class (`Bottleneck`) takes `in_channels`,
the block's declared params with their defaults, `in_shape` if the block reads it, and one
flag per decision the lowering took from the shapes (a `shortcut: auto` projection is present
or not: `downsample=True`). Its constructor computes the block's `let` values and every inner
op's arguments as Python translated from the blueprint's expressions (translate.py); the ops'
own emission code runs on numbers that carry those expressions (`Sym`), so `nn.Conv2d(width,
width, kernel_size=3, stride=stride, ...)` comes from the same code that emits concrete calls.

Constructs written this way: lists of ops and block calls (torchvision's names, numbered or
named as the lowering names them), `if:` items (optional members; `if`/`else` runs on the
condition and its negation), a body chosen by `if:` (both branches, the decision tested in the
constructor and again in forward), named `seq`s (nn.Sequential members, filled as the conditions
say), ops chosen by a param (the instances' ops picked in the constructor), `residual`
(identity, projection, `auto` with a flag, a computed identity/none, a shortcut of items) with
`after`, as the body or named inside a list (an nn.ModuleDict member), `dense` repeats (a loop
of `add_module` calls and a loop in forward, as torchvision's `_DenseBlock`), an unnamed
`repeat` in a numbered list (a loop appending to an nn.Sequential's layers), a named `seq` that is
a named repeat of one block call (a loop of `add_module` calls, ViT's encoder layers), a named
repeat of stages of one block call (two loops, ResNet's `layer1` ... `layer4`), `parallel` bodies
and inside a list (an nn.ModuleList member, torchvision's ASPP), `from:` wiring (a `from:`
chosen by an expression between an optional item and its input; `split:` parts, as `x1, x2 =
x.chunk(2, dim=1)`), `module_order`, a block call that is the whole body (the callee's members
built in place, as the lowering builds them), and a block that calls itself (recursive Python:
the class calls its own class; writer.py walks the deeper instances first).
docs/codegen.md lists what is not (yet).

Every distinct instance is written separately and all must print the same class; then the class
is run on stand-ins for torch (fake.py) and must build and wire exactly the graph's modules for
every instance. (Instances alike in all a walk reads, writer.instance_key, share one walk and
one stand-in model; each is still compared with its own nodes.) A block that fails any step
(another construct, an expression the translation cannot express, a `from:` reference it
cannot hold as one value, a decision that differs between instances) keeps the scope-based
classes of python.py, and so does every block that calls it.
"""

from .values import BlockClass, Stmt, Val
from .walk import Walk
from .writer import BlockWriter

__all__ = ["BlockWriter", "BlockClass", "Walk", "Stmt", "Val"]
