#!/usr/bin/python3
"""Writes tests/fuzz/fuzz_importer.dict: the libFuzzer dictionary of model-file
tokens (JSON syntax; the keys, type names and enum values of
docs/model-format.schema.json and of the parity models). Run from the
repository root after the schema gains entries."""
import glob
import json

SYNTAX = ['{', '}', '[', ']', ':', ',', 'true', 'false', 'null', '0', '-1',
          '1e400', '9223372036854775808', '2147483648', '0.5', '"']


def collect(schema, models):
    words = set()

    def walk_schema(x):
        if isinstance(x, dict):
            for k, v in x.items():
                if k == 'properties' and isinstance(v, dict):
                    words.update(v.keys())
                if k in ('const', 'enum'):
                    words.update(e for e in (v if isinstance(v, list) else [v])
                                 if isinstance(e, str))
                walk_schema(v)
        elif isinstance(x, list):
            for v in x:
                walk_schema(v)

    def walk_model(x):
        if isinstance(x, dict):
            for k, v in x.items():
                words.add(k)
                if k in ('type', 'op', 'kind', 'name') and isinstance(v, str):
                    words.add(v)
                walk_model(v)
        elif isinstance(x, list):
            for v in x:
                walk_model(v)

    walk_schema(schema)
    for m in models:
        walk_model(m)
    return sorted(w for w in words if w and all(32 <= ord(c) < 127 for c in w))


def main():
    schema = json.load(open('docs/model-format.schema.json'))
    models = [json.load(open(f)) for f in sorted(glob.glob('tests/parity/models/*.json'))]
    lines = ['# Model-file tokens (libFuzzer dictionary), written by',
             '# tests/fuzz/make_importer_dict.py: JSON syntax, the keys, types and',
             '# enum values of docs/model-format.schema.json and the parity models.']
    lines += [json.dumps(t) for t in SYNTAX]
    lines += [json.dumps(json.dumps(w)) for w in collect(schema, models)]
    with open('tests/fuzz/fuzz_importer.dict', 'w') as f:
        f.write('\n'.join(lines) + '\n')


if __name__ == '__main__':
    main()
