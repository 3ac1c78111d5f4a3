"""Frames and preprocessing: reading data, H2O's DataInfo (``FrameSchema``) and row encoding."""
from daskdl.frame.io import asfactor, import_file, split_frame
from daskdl.frame.schema import FrameSchema
from daskdl.frame.encode import Block, encode_dense, encode_partition

__all__ = ["import_file", "split_frame", "asfactor", "FrameSchema", "Block", "encode_partition", "encode_dense"]
