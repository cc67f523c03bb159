#!/usr/bin/env python3
"""Writes the seed corpus of each fuzz target into fuzz/corpus/<target>/: tiny valid inputs
that libFuzzer mutates from. Run from anywhere; the files are committed, this is how they came."""
import gzip
import json
import pathlib
import struct

ROOT = pathlib.Path(__file__).resolve().parent / "corpus"

# NIfTI datatype codes and their struct formats.
U8, I16, I32, F32, F64 = (2, "B"), (4, "h"), (8, "i"), (16, "f"), (64, "d")


def nifti1(dims, dtype, endian="<", qform=0, sform=0, slope=0.0, ext=b""):
    code, fmt = dtype
    n = 1
    for d in dims:
        n *= d
    size = struct.calcsize(fmt)
    offset = 352 + len(ext)
    h = bytearray(348)
    struct.pack_into(endian + "i", h, 0, 348)
    struct.pack_into(endian + "8h", h, 40, len(dims), *dims, *([1] * (7 - len(dims))))
    struct.pack_into(endian + "hh", h, 70, code, 8 * size)
    struct.pack_into(endian + "8f", h, 76, 1, 1.5, 2, 2.5, 1, 1, 1, 1)
    struct.pack_into(endian + "fff", h, 108, offset, slope, 0)
    struct.pack_into(endian + "B", h, 123, 2)  # mm
    struct.pack_into(endian + "hh", h, 252, qform, sform)
    struct.pack_into(endian + "6f", h, 256, 0, 0, 0.7071, -2, 3, -4)
    struct.pack_into(endian + "12f", h, 280, 1.5, 0, 0, -3, 0, 2, 0, 4, 0, 0, 2.5, -5)
    h[344:348] = b"n+1\0"
    extender = bytes([1 if ext else 0, 0, 0, 0])
    data = struct.pack(endian + str(n) + fmt, *[(i * 7) % 5 for i in range(n)])
    return bytes(h) + extender + ext + data


def nifti2(dims, dtype):
    code, fmt = dtype
    n = 1
    for d in dims:
        n *= d
    size = struct.calcsize(fmt)
    h = bytearray(540)
    struct.pack_into("<i", h, 0, 540)
    h[4:12] = b"n+2\0\r\n\x1a\n"
    struct.pack_into("<hh", h, 12, code, 8 * size)
    struct.pack_into("<8q", h, 16, len(dims), *dims, *([1] * (7 - len(dims))))
    struct.pack_into("<8d", h, 104, 1, 1, 1, 1, 1, 1, 1, 1)
    struct.pack_into("<qdd", h, 168, 544, 2.0, 1.0)
    struct.pack_into("<ii", h, 344, 0, 1)
    struct.pack_into("<12d", h, 400, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0)
    data = struct.pack("<" + str(n) + fmt, *[i % 3 for i in range(n)])
    return bytes(h) + bytes(4) + data


def safetensors(tensors, metadata=None):
    header, blob = {}, b""
    for name, (dtype, shape, fmt, values) in tensors.items():
        raw = struct.pack("<" + str(len(values)) + fmt, *values)
        offsets = [len(blob), len(blob) + len(raw)]
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": offsets}
        blob += raw
    if metadata:
        header["__metadata__"] = metadata
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + blob


def write(target, name, data):
    d = ROOT / target
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_bytes(data if isinstance(data, bytes) else data.encode())


def main():
    # nifti: the first byte is the harness's mode (0 .nii, 1 gzipped by the harness, 2 .nii.gz).
    ext = struct.pack("<ii", 16, 6) + b"comment\0"
    write("nifti", "u8_sform.nii", b"\0" + nifti1([4, 4, 4], U8, sform=2))
    write("nifti", "f32_qform_slope.nii", b"\0" + nifti1([4, 3, 2], F32, qform=1, slope=0.5))
    write("nifti", "i16_4d_big_endian.nii", b"\0" + nifti1([3, 2, 2, 2], I16, endian=">", qform=1))
    write("nifti", "i32_extension.nii", b"\0" + nifti1([2, 2, 2], I32, ext=ext))
    write("nifti", "f64_nifti2.nii", b"\0" + nifti2([3, 3, 3], F64))
    write("nifti", "i16_gz_by_harness.nii", b"\1" + nifti1([4, 4, 4], I16, sform=1))
    write("nifti", "u8.nii.gz", b"\2" + gzip.compress(nifti1([4, 4, 4], U8, qform=1), mtime=0))

    write("safetensors", "three_dtypes.safetensors", safetensors(
        {"w": ("F32", [2, 3], "f", [0.5] * 6), "d": ("F64", [2], "d", [1.0, -2.0]),
         "i": ("I32", [], "i", [7])}, {"epoch": "3", "steps": "12"}))
    write("safetensors", "empty_tensor.safetensors", safetensors({"e": ("F32", [0, 4], "f", [])}))
    write("safetensors", "no_tensors.safetensors", safetensors({}))

    msd = {"name": "x", "modality": {"0": "CT"}, "labels": {"0": "background", "1": "tumour"},
           "numTraining": 1,
           "training": [{"image": "./imagesTr/a.nii.gz", "label": "./labelsTr/a.nii.gz"}],
           "test": []}
    nnunet = {"channel_names": {"0": "CT", "1": "MR"}, "labels": {"background": 0, "tumour": 1},
              "numTraining": 1, "file_ending": ".nii.gz"}
    write("dataset_json", "msd.json", json.dumps(msd, indent=1))
    write("dataset_json", "nnunet.json", json.dumps(nnunet, indent=1))
    # MSD's test list, as paths and as {"image": path}; naming a training case is an error.
    msd_test = dict(msd, test=["./imagesTs/b.nii.gz", {"image": "./imagesTs/c.nii.gz"}])
    write("dataset_json", "msd_test_list.json", json.dumps(msd_test, indent=1))

    config = {"model": "fd-early", "dataset": "/data/x", "shape": [32, 32, 16], "fit": "crop-pad",
              "norm": "percentile", "percentiles": [0.5, 99.5], "channels": 1, "classes": 2,
              "class_names": ["background", "tumour"], "beta": [0.1, 0.1, 1.0],
              "kspace_centre": "shifted", "seed": 1, "fold": 1, "train_percent": 100.0, "folds": 5,
              "test_fraction": 0.2, "lr": 0.001,
              "batch": 2, "epochs": 3,
              "adam": {"beta1": 0.9, "beta2": 0.999, "eps": 1e-08, "weight_decay": 1e-10},
              "conv": "tiled", "fast_nondeterministic": False,
              "split": {"train": ["a", "b"], "val": ["c"], "test": ["d"]}}
    write("config_json", "config.json", json.dumps(config, indent=2))
    added_later = ("fit", "norm", "percentiles", "folds", "test_fraction", "conv",
                   "fast_nondeterministic")
    old = {k: v for k, v in config.items() if k not in added_later}
    write("config_json", "config_old.json", json.dumps(old, indent=2))
    splits = {"seed": 1, "fold": 2, "folds": 5, "test_fraction": 0.2, "train_percent": 50.0,
              "test": ["d"], "train": ["a", "b"], "val": ["c"]}
    write("config_json", "splits.json", json.dumps(splits, indent=2))

    state = {"epoch": 1, "best_epoch": 1, "best_val_loss": 0.5, "optimizer_steps": 0,
             "dropout_generator": {"seed": 1, "offset": 0},
             "shuffle_generator": {"seed": 1, "offset": 0}}
    write("state_json", "state.json", json.dumps(state, indent=2))
    write("state_json", "state_epoch2.json", json.dumps(dict(state, epoch=2), indent=2))

    cli = [line.split() for line in [
        "info",
        "check /data/x",
        "train /data/x --model fd-late -o /runs/a --shape 32 32 16 --fit crop-pad --norm percentile"
        " --percentiles 1 99 --epochs 3 --batch 1 --lr 1e-3 --device cpu --beta 0.1 0.1 1 --fold 2"
        " --resume",
        "predict /runs/a -o /out /data/x/imagesTr/a.nii.gz --probabilities --threads 2",
        "evaluate /out /data/x/labelsTr -o /out/m --classes background tumour",
        "compare / /dev --metric hd95",
        "phantoms -o /data/p --cases 4 --shape 32 32 24 --seed 3",
        "study /data/x -o /s --models unet3d,fd-early --train-percent 25,100 --folds 1,2 --jobs 2"
        " --print-commands",
        "disentangle /data/x/imagesTr/a.nii.gz -o /out/d --beta 0.2 0.2 0.5",
        "bench conv3d --repeat 3 --no-torch --conv tiled,tf32",
        "bench train --model unet3d --shape 32 32 16 --batch 1",
        "train --help",
        "check /data/x --allow-outside-paths"]]
    for i, args in enumerate(cli):
        write("cli", f"{i:02d}_{args[0]}.txt", "\n".join(args))


if __name__ == "__main__":
    main()
