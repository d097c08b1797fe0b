/* What the two sources of the `_rle_kernel` extension share. */
#ifndef VIS_BENCH_RLE_KERNEL_H
#define VIS_BENCH_RLE_KERNEL_H

#include <Python.h>
#include <stdint.h>

/* A new bytes object of `size` bytes (at least one), contents undefined. */
PyObject *bytes_of_size(Py_ssize_t size);

/* Buffers from this size on are worth transparent huge pages: the metric's run arrays and
 * text buffers span hundreds of MB that are written once, and on a virtual machine a 4 KiB
 * page fault each costs more than filling the page. */
#define HUGE_PAGE_BUFFER ((size_t)4 << 20)

/* Ask the kernel for transparent huge pages on [start, start + size) (a hint: where THP is
 * off or not built in, nothing changes). Call before the memory is first written. */
void advise_huge_pages(void *start, size_t size);

/* bytes_of_size for a large buffer: huge pages advised. */
PyObject *bulk_bytes_of_size(Py_ssize_t size);

/* Count list v[0..m) appended to `out` as a COCO compressed string (pycocotools' rleToString,
 * byte for byte); returns the characters written, at most 6 per count below 2**30. */
Py_ssize_t encode_one(const uint32_t *v, Py_ssize_t m, char *out);

/* _count_text.c: the GT reader's count lists, cut out of the JSON text and parsed. */
PyObject *cut_count_lists(PyObject *self, PyObject *args);

/* _count_text.c: a results file's mask strings, cut out of its JSON text. */
PyObject *cut_result_strings(PyObject *self, PyObject *arg);

#endif
