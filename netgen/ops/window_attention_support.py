"""The helper classes a generated file defines for `window_attention` (ops/window_attention.py):
Swin's shifted-window attention, v1 and v2, as torch source that imports only torch and nn.

Written from the papers (Liu et al. 2021, arXiv:2103.14030; Liu et al. 2022, arXiv:2111.09883)
to torchvision's parameters, buffers and numerics (its `ShiftedWindowAttention` and
`ShiftedWindowAttentionV2`): the state_dict keys, the order of the arithmetic and torchvision's
particular choices (the map padded with zeros to whole windows, padded positions attended like
any other; no shift where one window covers the padded map; -100, not -inf, for masked pairs;
v2's key bias held at zero) are what make a strict load give equal outputs.
"""

from __future__ import annotations

from .emission import Support

WINDOW_ATTENTION = Support(("ShiftedWindowAttention",), '''
class ShiftedWindowAttention(nn.Module):
    """Multi-head self-attention within the windows of a channels-last B×H×W×C map (Swin, Liu et
    al. 2021): the map is padded with zeros to whole windows, shifted cyclically by `shift_size`
    (not where one window covers it), and each window attends over itself with a learned bias per
    relative offset and head; pairs that the shift brought together from opposite edges are
    masked. torchvision's parameters and state_dict."""

    def __init__(
        self, dim, window_size, shift_size, num_heads, qkv_bias=True, proj_bias=True, attention_dropout=0.0, dropout=0.0
    ):
        super().__init__()
        self.window_size = list(window_size)
        self.shift_size = list(shift_size)
        self.num_heads = num_heads
        self.attention_dropout = attention_dropout
        self.dropout = dropout
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim, bias=proj_bias)
        self.define_position_bias()
        wh, ww = self.window_size
        # for each (query, key) pair of a window, in row-major order: its offset's row in the table
        row = torch.arange(wh).repeat_interleave(ww)
        col = torch.arange(ww).repeat(wh)
        offset = (row[:, None] - row[None, :] + wh - 1) * (2 * ww - 1) + (col[:, None] - col[None, :] + ww - 1)
        self.register_buffer("relative_position_index", offset.flatten())

    def define_position_bias(self):
        wh, ww = self.window_size
        self.relative_position_bias_table = nn.Parameter(torch.zeros((2 * wh - 1) * (2 * ww - 1), self.num_heads))
        nn.init.trunc_normal_(self.relative_position_bias_table, std=0.02)

    def position_bias_table(self):
        return self.relative_position_bias_table

    def position_bias(self):
        """heads × n × n: the bias of every (query, key) pair of a window of n positions."""
        n = self.window_size[0] * self.window_size[1]
        bias = self.position_bias_table()[self.relative_position_index].view(n, n, self.num_heads)
        return bias.permute(2, 0, 1)

    def qkv_bias(self):
        return self.qkv.bias

    @staticmethod
    def regions(size, window, shift, device):
        """Along one axis of the rolled map: 0 before the last window, then 1 and 2 for the two
        pieces the roll joined in it (from either side of the seam); all 0 and 1 without a shift."""
        index = torch.arange(size, device=device)
        return (index >= size - window).long() + (index >= size - shift).long()

    def scores(self, q, k):
        return (q * q.shape[-1] ** -0.5).matmul(k.transpose(-2, -1))

    def forward(self, x):
        batch, height, width, dim = x.shape
        wh, ww = self.window_size
        if height % wh or width % ww:
            x = nn.functional.pad(x, (0, 0, 0, -width % ww, 0, -height % wh))
        ph, pw = x.shape[1], x.shape[2]
        sh = self.shift_size[0] if wh < ph else 0
        sw = self.shift_size[1] if ww < pw else 0
        if sh or sw:
            x = torch.roll(x, shifts=(-sh, -sw), dims=(1, 2))
        rows, cols, n = ph // wh, pw // ww, wh * ww
        x = x.view(batch, rows, wh, cols, ww, dim).transpose(2, 3).reshape(batch * rows * cols, n, dim)
        qkv = nn.functional.linear(x, self.qkv.weight, self.qkv_bias())
        q, k, v = qkv.reshape(x.shape[0], n, 3, self.num_heads, dim // self.num_heads).permute(2, 0, 3, 1, 4)
        attn = self.scores(q, k) + self.position_bias()
        if sh or sw:
            # label the regions the roll joined (0-2 per axis); pairs from different ones are masked
            rh, rw = self.regions(ph, wh, sh, x.device), self.regions(pw, ww, sw, x.device)
            region = (rh[:, None] * 3 + rw).view(rows, wh, cols, ww).transpose(1, 2).reshape(-1, n)
            mask = (region[:, None, :] != region[:, :, None]).to(attn.dtype) * -100.0
            attn = attn.view(batch, rows * cols, self.num_heads, n, n) + mask[None, :, None]
            attn = attn.view(-1, self.num_heads, n, n)
        attn = nn.functional.dropout(attn.softmax(dim=-1), p=self.attention_dropout, training=self.training)
        x = attn.matmul(v).transpose(1, 2).reshape(x.shape[0], n, dim)
        x = nn.functional.linear(x, self.proj.weight, self.proj.bias)
        x = nn.functional.dropout(x, p=self.dropout, training=self.training)
        x = x.view(batch, rows, cols, wh, ww, dim).transpose(2, 3).reshape(batch, ph, pw, dim)
        if sh or sw:
            x = torch.roll(x, shifts=(sh, sw), dims=(1, 2))
        if ph != height or pw != width:
            x = x[:, :height, :width].contiguous()
        return x

    def extra_repr(self):
        return f"window_size={self.window_size}, shift_size={self.shift_size}, num_heads={self.num_heads}"
''')

WINDOW_ATTENTION_V2 = Support(("ShiftedWindowAttentionV2",), '''
class ShiftedWindowAttentionV2(ShiftedWindowAttention):
    """Swin v2's window attention (Liu et al. 2022): cosine similarity of queries and keys times a
    learned per-head temperature (at most 100), and a continuous position bias: an MLP maps each
    relative offset, log-spaced, to a bias per head, squashed to 0-16. The key bias stays zero.
    torchvision's parameters and state_dict."""

    def __init__(
        self, dim, window_size, shift_size, num_heads, qkv_bias=True, proj_bias=True, attention_dropout=0.0, dropout=0.0
    ):
        super().__init__(
            dim,
            window_size,
            shift_size,
            num_heads,
            qkv_bias=qkv_bias,
            proj_bias=proj_bias,
            attention_dropout=attention_dropout,
            dropout=dropout,
        )
        self.logit_scale = nn.Parameter(torch.log(10 * torch.ones((num_heads, 1, 1))))
        self.cpb_mlp = nn.Sequential(
            nn.Linear(2, 512, bias=True), nn.ReLU(inplace=True), nn.Linear(512, num_heads, bias=False)
        )
        if qkv_bias:
            with torch.no_grad():
                self.qkv.bias[dim : 2 * dim].zero_()

    def define_position_bias(self):
        # every relative offset (dh, dw) of a window, scaled to [-8, 8], then log-spaced
        wh, ww = self.window_size
        dh = torch.arange(-(wh - 1), wh, dtype=torch.float32)
        dw = torch.arange(-(ww - 1), ww, dtype=torch.float32)
        table = torch.stack(torch.meshgrid(dh / (wh - 1), dw / (ww - 1), indexing="ij"), dim=-1).unsqueeze(0) * 8
        table = torch.sign(table) * torch.log2(torch.abs(table) + 1.0) / 3.0
        self.register_buffer("relative_coords_table", table)

    def position_bias_table(self):
        return self.cpb_mlp(self.relative_coords_table).view(-1, self.num_heads)

    def position_bias(self):
        return 16 * torch.sigmoid(super().position_bias())

    def qkv_bias(self):
        bias = self.qkv.bias
        if bias is None:
            return None
        third = bias.numel() // 3
        return torch.cat([bias[:third], torch.zeros_like(bias[third : 2 * third]), bias[2 * third :]])

    def scores(self, q, k):
        cosine = nn.functional.normalize(q, dim=-1).matmul(nn.functional.normalize(k, dim=-1).transpose(-2, -1))
        return cosine * torch.clamp(self.logit_scale, max=4.605170185988092).exp()  # at most log(100)
''')
