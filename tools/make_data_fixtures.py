#!/usr/bin/env python3
"""Writes the small reference files the data-layer tests read (test/fixtures/data/).

Needs Debian's numpy and scipy only (`apt-get install -y python3-numpy python3-scipy`);
Python is never a runtime or test dependency, the fixtures are committed. Re-run with

    /usr/bin/python3 tools/make_data_fixtures.py

from the repository root. Output is deterministic for a given numpy version.

What it writes:
  npy/            .npy files of every supported dtype, both byte orders, Fortran order,
                  0-d, size-0, format versions 1/2/3, pickled object arrays; expected.json
  npz/            np.savez (stored) and np.savez_compressed archives; expected.json
  pickle/         one reference object pickled with protocols 2-5 (+ numpy-2 module names)
  mmjdm/          a tiny fake MM-JDM release in the authors' file layout; expected.json
  safetensors/    a .safetensors file built byte by byte from the format spec; expected.json
  metrics/        golden Spearman / Pearson values from scipy.stats (ties included)
"""
import collections
import io
import json
import os
import pickle
import struct
import sys
import warnings

import numpy as np
import scipy.stats

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures', 'data')


def out(*parts):
    path = os.path.join(ROOT, *parts)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    return path


def jsonable(values):
    """Flat C-order values; 64-bit integers as strings (JSON numbers lose precision)."""
    flat = np.asarray(values).reshape(-1)
    if flat.dtype.kind in 'iu' and flat.dtype.itemsize == 8:
        return [str(int(v)) for v in flat]
    if flat.dtype.kind == 'b':
        return [bool(v) for v in flat]
    if flat.dtype.kind in 'iu':
        return [int(v) for v in flat]
    return [float(v) for v in flat]


DTYPE_NAMES = {
    'b1': 'bool', 'i1': 'int8', 'u1': 'uint8', 'i2': 'int16', 'u2': 'uint16', 'i4': 'int32',
    'u4': 'uint32', 'i8': 'int64', 'u8': 'uint64', 'f2': 'float16', 'f4': 'float32', 'f8': 'float64',
}


def dtype_name(arr):
    return DTYPE_NAMES[arr.dtype.kind + str(arr.dtype.itemsize)]


def sample_values(code, shape):
    n = int(np.prod(shape)) if len(shape) else 1
    base = np.arange(n, dtype=np.float64)
    kind = code.lstrip('<>|=')[0]
    if kind == 'f':
        values = base * 0.75 - 2.5
    elif kind == 'b':
        values = (base % 3) == 1
    elif kind == 'u':
        values = (base * 37 + 3) % 250
    else:
        values = (base * 37 - 50)
    arr = np.asarray(values).astype(code).reshape(shape)
    if code.endswith('i8'):
        arr.reshape(-1)[0] = -(2 ** 62) + 5
        if arr.size > 1:
            arr.reshape(-1)[1] = 2 ** 53 + 1
    if code.endswith('u8') and arr.size > 0:
        arr.reshape(-1)[0] = 2 ** 64 - 2
    return arr


def write_npy():
    expected = {}

    def save(name, arr, version=None, note=None):
        path = out('npy', name + '.npy')
        if version is None:
            np.save(path, arr, allow_pickle=False)
        else:
            with open(path, 'wb') as f:
                np.lib.format.write_array(f, arr, version=version, allow_pickle=False)
        expected[name] = {
            'descr': np.lib.format.dtype_to_descr(arr.dtype),
            'dtype': dtype_name(arr),
            'shape': list(arr.shape),
            'fortran': bool(arr.flags.f_contiguous and not arr.flags.c_contiguous),
            'values': jsonable(arr),
        }
        if note:
            expected[name]['note'] = note

    for code, shape in [('<f4', (2, 3)), ('<f8', (3, 2)), ('<i4', (4,)), ('<i8', (2, 2)), ('<i2', (3,)),
                        ('|u1', (5,)), ('|b1', (2, 2)), ('|i1', (4,)), ('<u2', (3,)), ('<u4', (3,)),
                        ('<u8', (2,)), ('>f4', (2, 3)), ('>f8', (3,)), ('>i4', (4,)), ('>i8', (2,)),
                        ('>i2', (3,)), ('>u2', (2,)), ('>u8', (2,))]:
        order = 'be' if code[0] == '>' else 'le'
        save(f'{order}_{code[1:]}', sample_values(code, shape))
    # float16: values exactly representable, including a subnormal and the largest finite half.
    half = np.array([0.5, -1.25, 65504.0, 2.0 ** -24, 0.0, -2.0], dtype='<f2')
    save('le_f2', half)
    save('be_f2', half.astype('>f2'))
    save('fortran_f4', np.asfortranarray(sample_values('<f4', (2, 3, 4))))
    save('fortran_i4', np.asfortranarray(sample_values('<i4', (3, 2))))
    save('scalar_f8', np.array(3.25, dtype='<f8'))
    save('scalar_i8', np.array(-42, dtype='<i8'))
    save('empty_f4', np.zeros((0, 3), dtype='<f4'))
    save('empty_i4', np.zeros((2, 0, 5), dtype='<i4'))
    save('v2_f4', sample_values('<f4', (3, 2)), version=(2, 0))
    save('v3_f8', sample_values('<f8', (2, 2)), version=(3, 0))
    # Special float values cannot live in JSON; the test checks them by hand.
    np.save(out('npy', 'special_f4.npy'), np.array([np.nan, np.inf, -np.inf, -0.0], dtype='<f4'))

    # Object arrays: a pickled dict like MM-JDM's feature files, and a 1-d mixed array.
    rng = np.random.default_rng(7)
    feature_dict = {
        'JDM01_0001': rng.standard_normal((3, 4)).astype(np.float32),
        'JDM01_0002': rng.standard_normal((2, 4)).astype(np.float32),
    }
    np.save(out('npy', 'object_dict.npy'), feature_dict, allow_pickle=True)
    expected['object_dict'] = {k: {'shape': list(v.shape), 'values': jsonable(v)} for k, v in feature_dict.items()}
    np.save(out('npy', 'object_1d.npy'), np.array([1, 'two', None, 2.5], dtype=object), allow_pickle=True)

    with open(out('npy', 'expected.json'), 'w') as f:
        json.dump(expected, f, indent=1)


def write_npz():
    a = sample_values('<f4', (2, 3))
    b = sample_values('<i8', (3,))
    c = sample_values('>f8', (2, 2))
    np.savez(out('npz', 'stored.npz'), a=a, b=b)
    np.savez_compressed(out('npz', 'compressed.npz'), a=a, b=b, c=c)
    np.savez(out('npz', 'positional.npz'), a, b)  # entries arr_0, arr_1
    expected = {name: {'dtype': dtype_name(v), 'shape': list(v.shape), 'values': jsonable(v)}
                for name, v in {'a': a, 'b': b, 'c': c}.items()}
    with open(out('npz', 'expected.json'), 'w') as f:
        json.dump(expected, f, indent=1)


def reference_object():
    """One object exercising every value kind the unpickler supports."""
    shared = [1, 2]
    return {
        'int_small': 7,
        'int_neg': -123456,
        'int_big': 2 ** 40,
        'int_huge': 2 ** 70,
        'int_neg_huge': -(2 ** 65),
        'float': 3.5,
        'float_neg': -0.1,
        'str': 'h\u00e9llo \u2713',
        'bytes': b'\x00\x01\xff',
        'empty_bytes': b'',
        'bytearray': bytearray(b'ab'),
        'true': True,
        'false': False,
        'none': None,
        'list': [1, 2.5, 'x'],
        'tuple': (1, 'a'),
        'set': {1, 2, 3},
        'frozenset': frozenset({'a'}),
        'nested': {'k': [{'deep': (None,)}]},
        'ordered': collections.OrderedDict([('b', 1), ('a', 2)]),
        'shared': [shared, shared],
        'arr_f4': np.arange(6, dtype=np.float32).reshape(2, 3),
        'arr_i8': np.array([-1, 2 ** 40], dtype=np.int64),
        'arr_f8_fortran': np.asfortranarray(np.arange(6, dtype=np.float64).reshape(2, 3)),
        'arr_0d': np.array(2.5),
        'arr_bool': np.array([True, False]),
        'arr_empty': np.zeros((0, 2), np.float32),
        'arr_be': np.arange(3, dtype='>i4'),
        'arr_f2': np.array([0.5, -2.0], dtype=np.float16),
        'arr_str': np.array(['ab', 'c']),
        'arr_obj': np.array([{'x': 1}, None], dtype=object),
        'scalar_f8': np.float64(1.5),
        'scalar_i8': np.int64(-7),
        'scalar_bool': np.bool_(True),
        'scalar_f4': np.float32(0.25),
        1: 'int key',
        (1, 2): 'tuple key',
    }


def write_pickles():
    obj = reference_object()
    for protocol in (2, 3, 4, 5):
        with open(out('pickle', f'reference_p{protocol}.pkl'), 'wb') as f:
            pickle.dump(obj, f, protocol=protocol)
    # numpy >= 2 pickles name numpy._core.*; protocol 2 spells globals as text lines, so the
    # numpy-2 variant is a byte-level rename of the same pickle.
    data = pickle.dumps(obj, protocol=2)
    if b'numpy.core.' in data:
        renamed = data.replace(b'cnumpy.core.multiarray\n', b'cnumpy._core.multiarray\n')
    else:
        renamed = data.replace(b'cnumpy._core.multiarray\n', b'cnumpy.core.multiarray\n')
    with open(out('pickle', 'reference_p2_other_numpy_names.pkl'), 'wb') as f:
        f.write(renamed)
    # A split list like MM-JDM's.
    with open(out('pickle', 'split_list.pkl'), 'wb') as f:
        pickle.dump(['JDM01_0001', 'JDM01_0003'], f, protocol=4)


def write_mmjdm():
    """A fake MM-JDM release: 2 actions, 9 samples, small feature sizes."""
    rng = np.random.default_rng(2024)
    clips, video_dim, flow_dim, frames, joints, clip_dim, image_frames = 4, 16, 24, 6, 26, 32, 2
    actions = [(1, 'Head Lift', [0, 1, 2, 3, 4, 5]), (4, 'Turn Over', [0, 0, 1, 4])]
    rows, samples = [], []
    for action_class, name, grades in actions:
        for i, grade in enumerate(grades):
            sample = f'JDM{action_class:02d}_{i + 1:04d}'
            rows.append((sample, f'V{len(rows) + 1:03d}', name, action_class, grade))
            samples.append(sample)
    d = os.path.join(ROOT, 'mmjdm')
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, 'label.csv'), 'w', newline='') as f:
        f.write('Sample_Name,Video_ID,Action_Type,Action_Class,Score\n')
        for r in rows:
            f.write(','.join(str(x) for x in r) + '\n')
    expected = {'samples': {}}
    for action_class, _, _ in actions:
        prefix = f'JDM{action_class:02d}_'
        members = [s for s in samples if s.startswith(prefix)]
        video = {s: rng.standard_normal((clips, video_dim)).astype(np.float32) for s in members}
        # One flow entry is deliberately absent: a missing modality for that sample.
        flow = {s: rng.standard_normal((clips, flow_dim)).astype(np.float32) for s in members if s != 'JDM04_0002'}
        np.save(os.path.join(d, f'JDM{action_class:02d}_rgb_VST.npy'), video, allow_pickle=True)
        np.save(os.path.join(d, f'JDM{action_class:02d}_flow_I3D.npy'), flow, allow_pickle=True)
        for s in members:
            expected['samples'][s] = {'video_sum': float(video[s].astype(np.float64).sum()),
                                      'flow_sum': float(flow[s].astype(np.float64).sum()) if s in flow else None}
    skeleton = rng.standard_normal((len(samples), frames, joints, 3)).astype(np.float32)
    np.save(os.path.join(d, 'JDM_skeleton_raw.npy'), skeleton)
    text = {}
    for i, s in enumerate(samples):
        text[s] = {'video': rng.standard_normal((image_frames, clip_dim)).astype(np.float32),
                   'text': rng.standard_normal(clip_dim).astype(np.float32)}
        expected['samples'][s].update({
            'skeleton_sum': float(skeleton[i].astype(np.float64).sum()),
            'image_sum': float(text[s]['video'].astype(np.float64).sum()),
            'text_sum': float(text[s]['text'].astype(np.float64).sum()),
            'grade': rows[i][4],
            'action': f'{rows[i][3]:02d}',
        })
    np.save(os.path.join(d, 'JDM_text_CLIP.npy'), text, allow_pickle=True)
    train = [s for i, s in enumerate(samples) if i % 3 != 2]
    test = [s for i, s in enumerate(samples) if i % 3 == 2]
    with open(os.path.join(d, 'train_split.pkl'), 'wb') as f:
        pickle.dump(train, f, protocol=4)
    with open(os.path.join(d, 'test_split.pkl'), 'wb') as f:
        pickle.dump(test, f, protocol=4)
    for s in samples:
        expected['samples'][s]['split'] = 'train' if s in train else 'test'
    expected['shapes'] = {'video': [clips, video_dim], 'flow': [clips, flow_dim], 'skeleton': [frames, joints, 3],
                          'image': [image_frames, clip_dim], 'text': [clip_dim]}
    with open(os.path.join(d, 'expected.json'), 'w') as f:
        json.dump(expected, f, indent=1)


# safetensors dtype order of the reference implementation (its Dtype enum): tensors are
# laid out widest dtype first, then by name.
ST_RANK = ['BOOL', 'U8', 'I8', 'I16', 'U16', 'F16', 'BF16', 'I32', 'U32', 'F32', 'F64', 'I64', 'U64']


def write_safetensors():
    f32 = np.array([[1.0, -2.5, 3.25], [0.0, 1e-3, -7.0]], dtype='<f4')
    bf16_source = np.array([1.0, -0.5, 3.140625], dtype='<f4')
    bf16_bits = (bf16_source.view('<u4') >> 16).astype('<u2')  # exactly representable: truncation is exact
    tensors = {
        'w_f32': ('F32', f32),
        'b_f64': ('F64', np.array([0.1, -0.2, 1e300], dtype='<f8')),
        'idx_i32': ('I32', np.array([-1, 0, 7, 2 ** 31 - 1], dtype='<i4')),
        'steps_i64': ('I64', np.array([-(2 ** 62), 2 ** 53 + 1], dtype='<i8')),
        'half': ('F16', np.array([0.5, -1.25, 65504.0], dtype='<f2')),
        'bytes_u8': ('U8', np.array([0, 1, 127, 128, 255], dtype='u1')),
        'bf': ('BF16', bf16_bits),
    }
    order = sorted(tensors, key=lambda n: (-ST_RANK.index(tensors[n][0]), n))
    metadata = {'epoch': '3', 'format': 'pt'}
    header_parts = ['"__metadata__":' + json.dumps(metadata, separators=(',', ':'), sort_keys=True)]
    offset = 0
    data = b''
    for name in order:
        dtype, arr = tensors[name]
        raw = arr.tobytes()
        header_parts.append(json.dumps(name) + ':' + json.dumps(
            {'dtype': dtype, 'shape': list(arr.shape), 'data_offsets': [offset, offset + len(raw)]},
            separators=(',', ':')))
        offset += len(raw)
        data += raw
    header = ('{' + ','.join(header_parts) + '}').encode('utf-8')
    header += b' ' * ((8 - len(header) % 8) % 8)
    with open(out('safetensors', 'model.safetensors'), 'wb') as f:
        f.write(struct.pack('<Q', len(header)) + header + data)
    expected = {
        'metadata': metadata,
        'order': order,
        'tensors': {name: {'dtype': dtype, 'shape': list(arr.shape), 'values': jsonable(arr)}
                    for name, (dtype, arr) in tensors.items()},
        'bf16_as_float': jsonable(bf16_source),
    }
    with open(out('safetensors', 'expected.json'), 'w') as f:
        json.dump(expected, f, indent=1)


def write_metrics():
    rng = np.random.default_rng(11)
    cases = [
        {'name': 'perfect', 'pred': [1, 2, 3, 4, 5], 'truth': [1, 2, 3, 4, 5]},
        {'name': 'reversed', 'pred': [5, 4, 3, 2, 1], 'truth': [1, 2, 3, 4, 5]},
        {'name': 'ties_in_truth', 'pred': [0.1, 0.4, 0.35, 0.8, 0.7, 0.2], 'truth': [0, 1, 1, 2, 2, 0]},
        {'name': 'ties_both', 'pred': [1, 1, 2, 2, 3, 3, 3], 'truth': [0, 1, 1, 2, 2, 2, 3]},
        {'name': 'grades_random', 'pred': [float(x) for x in rng.normal(2, 1.2, 40).round(2)],
         'truth': [int(x) for x in rng.integers(0, 5, 40)]},
        {'name': 'continuous', 'pred': [float(x) for x in rng.normal(0, 1, 25)],
         'truth': [float(x) for x in rng.normal(0, 1, 25)]},
        {'name': 'constant_truth', 'pred': [1, 2, 3], 'truth': [2, 2, 2]},
    ]
    for case in cases:
        pred, truth = np.array(case['pred'], float), np.array(case['truth'], float)
        with np.errstate(all='ignore'), warnings.catch_warnings():
            warnings.simplefilter('ignore')
            rho = scipy.stats.spearmanr(pred, truth).correlation
            r = scipy.stats.pearsonr(pred, truth)[0] if np.std(truth) > 0 and np.std(pred) > 0 else float('nan')
        case['spearman'] = None if np.isnan(rho) else float(rho)
        case['pearson'] = None if np.isnan(r) else float(r)
        case['mse'] = float(np.mean((pred - truth) ** 2))
    with open(out('metrics', 'golden.json'), 'w') as f:
        json.dump({'generator': f'scipy {scipy.__version__}, numpy {np.__version__}', 'cases': cases}, f, indent=1)


def main():
    write_npy()
    write_npz()
    write_pickles()
    write_mmjdm()
    write_safetensors()
    write_metrics()
    total = sum(os.path.getsize(os.path.join(dp, f)) for dp, _, fs in os.walk(ROOT) for f in fs)
    print(f'wrote fixtures to {os.path.normpath(ROOT)} ({total} bytes, numpy {np.__version__})', file=sys.stderr)


if __name__ == '__main__':
    main()
