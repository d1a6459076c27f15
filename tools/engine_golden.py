#!/usr/bin/env python3
"""Writes the PyTorch golden values the engine tests compare against (test/fixtures/engine/golden.json).

An external oracle for the semantics our own CPU reference could get wrong in the same way as the
kernels: GELU (erf and tanh forms), max/amax tie splitting, maximum ties, pow with negative bases,
logsumexp, layer_norm, F.normalize, cross_entropy with label smoothing and soft targets, ...

Needs Debian's PyTorch only (`apt-get install -y python3-torch`); Python is never a runtime or
test dependency, the JSON is committed. Re-run from the repository root with

    /usr/bin/python3 tools/engine_golden.py

Each case: named inputs (float64 values, shapes, which need grad), the op's output, and the
gradient of sum(output * weight) for a fixed random weight. test/engine/golden.test.ts maps each
case name to the same op in this library.
"""
import json
import os

import torch
import torch.nn.functional as F

torch.manual_seed(0)
D = torch.float64


def randn(*shape, scale=1.0):
    return (torch.randn(shape, dtype=D) * scale).to(torch.float32).to(D)  # float32-exact values


def positive(*shape):
    return (0.5 + 1.5 * torch.rand(*shape, dtype=D)).to(torch.float32).to(D)


def vals(*v, shape=None):
    t = torch.tensor(v, dtype=D)
    return t.reshape(shape) if shape else t


cases = []


def case(name, fn, inputs, grads=True):
    """inputs: list of (tensor, requires_grad) or int64 index tensors."""
    leaves = []
    for t in inputs:
        if t.dtype == torch.int64:
            leaves.append(t)
        else:
            leaves.append(t.clone().requires_grad_(grads))
    out = fn(*leaves)
    weight = randn(*out.shape)
    entry = {
        'name': name,
        'inputs': [
            {'shape': list(t.shape), 'dtype': 'int32' if t.dtype == torch.int64 else 'float', 'data': t.detach().reshape(-1).tolist()}
            for t in leaves
        ],
        'out': {'shape': list(out.shape), 'data': out.detach().reshape(-1).tolist()},
        'weight': weight.reshape(-1).tolist(),
        'grads': None,
    }
    if grads:
        (out * weight).sum().backward()
        entry['grads'] = [None if t.dtype == torch.int64 or t.grad is None else t.grad.reshape(-1).tolist() for t in leaves]
    cases.append(entry)


x = randn(3, 5, scale=2)
case('gelu', lambda a: F.gelu(a), [x])
case('gelu_tanh', lambda a: F.gelu(a, approximate='tanh'), [x])
case('sigmoid', torch.sigmoid, [x])
case('tanh', torch.tanh, [x])
case('exp', torch.exp, [x])
case('abs', torch.abs, [x])
case('relu', torch.relu, [x])
case('log', torch.log, [positive(7)])
case('sqrt', torch.sqrt, [positive(7)])
case('rsqrt', torch.rsqrt, [positive(7)])
case('clamp', lambda a: torch.clamp(a, -0.5, 0.7), [vals(-2, -0.5, 0, 0.3, 0.7, 1.5)])
case('pow3_negative', lambda a: a.pow(3), [vals(-2, -0.5, 0.25, 1.5)])
case('pow_tensor_negative_base', lambda a, b: a.pow(b), [vals(-2, -1.5, 3, 0.5), vals(2, 3, -1, 2.5)], grads=False)
case('softmax_dim1', lambda a: torch.softmax(a, 1), [randn(2, 4, 3)])
case('log_softmax_dim0', lambda a: torch.log_softmax(a, 0), [randn(4, 3, scale=3)])
case('logsumexp_02_keepdim', lambda a: torch.logsumexp(a, (0, 2), keepdim=True), [randn(2, 3, 4)])
case('amax_ties', lambda a: torch.amax(a, 1), [vals(1, 3, 3, 0, -1, -1, -2, -1, shape=(2, 4))])
case('amin_all_ties', lambda a: torch.amin(a), [vals(2, 1, 1, 5, 1)])
case('maximum_ties', torch.maximum, [vals(1, 2, 3, 4), vals(1, 5, 3, 0)])
case('mean_keepdim', lambda a: a.mean((0, 2), keepdim=True), [randn(2, 3, 4)])
case('layer_norm_affine', lambda a, w, b: F.layer_norm(a, (6,), w, b, 1e-5), [randn(4, 6), randn(6), randn(6)])
case('layer_norm_plain', lambda a: F.layer_norm(a, (5,)), [randn(3, 5, scale=3)])
case('normalize', lambda a: F.normalize(a, dim=-1), [randn(3, 4)])
labels = torch.tensor([2, 0, 4, 1, 1, 3], dtype=torch.int64)
case('cross_entropy', lambda a, t: F.cross_entropy(a, t), [randn(6, 5), labels])
case('cross_entropy_smoothing', lambda a, t: F.cross_entropy(a, t, label_smoothing=0.1), [randn(6, 5), labels])
case('cross_entropy_sum', lambda a, t: F.cross_entropy(a, t, reduction='sum'), [randn(6, 5), labels])
case('cross_entropy_soft', lambda a, p: F.cross_entropy(a, p), [randn(4, 3), torch.softmax(randn(4, 3), -1)])
case('cross_entropy_soft_smoothing', lambda a, p: F.cross_entropy(a, p, label_smoothing=0.2), [randn(4, 3), torch.softmax(randn(4, 3), -1)])
case('mse_loss', F.mse_loss, [randn(3, 4), randn(3, 4)])
case('matmul_broadcast', torch.matmul, [randn(2, 1, 3, 4), randn(5, 4, 2)])
case('matmul_vec', torch.matmul, [randn(4), randn(4, 3)])
case('index_select_repeats', lambda a, i: torch.index_select(a, 0, i), [randn(4, 3), torch.tensor([3, 0, 3, 1], dtype=torch.int64)])
case('linear_relu', lambda a, w, b: torch.relu(F.linear(a, w, b)), [randn(5, 4), randn(3, 4), randn(3)])
case('dropout_eval', lambda a: F.dropout(a, 0.5, training=False), [randn(5)])

out = os.path.join(os.path.dirname(__file__), '..', 'test', 'fixtures', 'engine', 'golden.json')
os.makedirs(os.path.dirname(out), exist_ok=True)
with open(out, 'w') as f:
    json.dump({'generator': 'tools/engine_golden.py', 'torch': torch.__version__, 'cases': cases}, f, separators=(',', ':'))
    f.write('\n')
print(f'wrote {len(cases)} cases to {os.path.normpath(out)}')
