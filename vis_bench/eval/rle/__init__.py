"""The metric's fast RLE machinery: the compiled `_rle_kernel` (bulk decoding, intersections)
behind `bulk_rle`, pixel counts in bulk (`areas`), and the bulk reader of a GT file's
uncompressed count lists (`count_lists`, with `compress`). Encoding and decoding one mask is
vis_bench.formats.rle's."""
