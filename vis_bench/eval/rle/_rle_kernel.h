/* What the two sources of the `_rle_kernel` extension share. */
#ifndef VIS_BENCH_RLE_KERNEL_H
#define VIS_BENCH_RLE_KERNEL_H

#include <Python.h>
#include <stdint.h>

/* A new bytes object of `size` bytes (at least one), contents undefined. */
PyObject *bytes_of_size(Py_ssize_t size);

/* Count list v[0..m) appended to `out` as a COCO compressed string (pycocotools' rleToString,
 * byte for byte); returns the characters written, at most 6 per count below 2**30. */
Py_ssize_t encode_one(const uint32_t *v, Py_ssize_t m, char *out);

/* _count_text.c: the GT reader's count lists, cut out of the JSON text and parsed. */
PyObject *cut_count_lists(PyObject *self, PyObject *args);

/* _count_text.c: a results file's mask strings, cut out of its JSON text. */
PyObject *cut_result_strings(PyObject *self, PyObject *arg);

#endif
