/* Bulk COCO run-length (RLE) work for the YouTube-VIS metric: decode many compressed mask
 * strings at once, and count the exact intersection of many mask pairs (the GT reader's count
 * lists are cut and parsed in _count_text.c).
 *
 * pycocotools does the same per call on small lists and parses a mask string again in every
 * call it appears in; the metric needs ~100k strings and ~1M pairs, so here each string is
 * parsed once into one flat array of runs, and the pairs are merged from that array.
 *
 * The string format is COCO's: each count is written in 5-bit groups (least significant
 * first) as characters '0' + group, bit 0x20 marking "more groups follow" and bit 0x10 of the
 * last group the sign; from the third count on, a count is stored as the difference to the
 * count two places before. Runs alternate background / foreground in column-major order,
 * starting with background.
 *
 * Only well-formed masks are decoded: the counts must sum to height x width, and every string
 * must use the format's characters only and not end inside a count. `decode` reports whether every mask is well formed; when one is not,
 * the Python side uses pycocotools for the whole input, so malformed input behaves exactly as
 * it does there.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "_rle_kernel.h"

/* One mask's runs and what the metric needs of them. */
typedef struct {
    Py_ssize_t runs;      // number of counts
    uint64_t pixels;      // sum of all counts (must be height x width)
    uint64_t foreground;  // sum of the odd-position counts
    int64_t first, end;   // foreground span in linear index (0, 0 when empty)
} MaskInfo;

/* Decode one string into `out` (capacity >= len) and fill `info`; returns 0, or -1 when the
 * string is not in the format (a character it never uses, a count longer than 7 characters,
 * the end inside a count, or no count at all). The one-character counts that make up almost
 * all of a mask take a short path without data-dependent branches (the signs of run-length
 * differences are random), and the two counts a difference refers to stay in registers. */
static inline int decode_impl(const char *s, Py_ssize_t len, uint32_t *out, MaskInfo *info,
                              const int json_text) {
    Py_ssize_t m = 0, p = 0;
    uint32_t prev1 = 0, prev2 = 0;  // counts m - 1 and m - 2
    uint64_t position = 0, foreground = 0;
    int64_t first = -1, end = 0;
    while (p < len) {
        int c = (unsigned char)s[p++] - 48;
        int64_t x;
        if ((unsigned)c < 32) {
            x = (c ^ 16) - 16;  // a 5-bit two's complement number in one character
        } else {
            if ((unsigned)c > 63) return -1;  // not a character the format uses
            if (json_text && c == '\\' - 48 && (p >= len || s[p++] != '\\')) return -1;
            x = c & 0x1f;
            int k = 1;
            do {
                if (p >= len || k > 6) return -1;  // ends inside a count, or too long
                c = (unsigned char)s[p++] - 48;
                if ((unsigned)c > 63) return -1;
                if (json_text && c == '\\' - 48 && (p >= len || s[p++] != '\\')) return -1;
                x |= (int64_t)(c & 0x1f) << (5 * k);
                k++;
            } while (c & 0x20);
            const int64_t top = (int64_t)1 << (5 * k - 1);  // sign bit: 0x10 of the last char
            x = (x ^ top) - top;
        }
        if (m > 2) x += (int64_t)prev2;
        const uint32_t v = (uint32_t)x;
        out[m] = v;
        if ((m & 1) && v) {
            if (first < 0) first = (int64_t)position;
            end = (int64_t)(position + v);
            foreground += v;
        }
        position += v;
        prev2 = prev1;
        prev1 = v;
        m++;
    }
    if (m == 0) return -1;  // an empty string has no runs at all
    info->runs = m;
    info->pixels = position;
    info->foreground = foreground;
    info->first = first < 0 ? 0 : first;
    info->end = end;
    return 0;
}

static int decode_one(const char *s, Py_ssize_t len, uint32_t *out, MaskInfo *info) {
    return decode_impl(s, len, out, info, 0);
}

/* decode_one for a string's text inside a JSON document: its backslash, the one character of
 * the format JSON escapes, is written twice there (any other escape is refused: -1). */
static int decode_json_one(const char *s, Py_ssize_t len, uint32_t *out, MaskInfo *info) {
    return decode_impl(s, len, out, info, 1);
}

static PyObject *key_counts, *key_size;  // interned "counts" and "size"
static PyObject *key_marker;             // "\x00": a cut string's key (result_strings.py)

/* The counts string of one RLE dict as a char pointer and length (str or bytes), and its
 * height x width; 0 when it is not a dict with a string `counts` and an integer [h, w] `size`. */
static int counts_of(PyObject *seg, const char **s, Py_ssize_t *len, int64_t *total) {
    if (!PyDict_Check(seg)) return 0;
    PyObject *counts = PyDict_GetItem(seg, key_counts);
    PyObject *size = PyDict_GetItem(seg, key_size);
    if (counts == NULL || size == NULL || !PyList_Check(size) || PyList_GET_SIZE(size) != 2)
        return 0;
    PyObject *h = PyList_GET_ITEM(size, 0), *w = PyList_GET_ITEM(size, 1);
    if (!PyLong_Check(h) || !PyLong_Check(w)) return 0;
    long long hv = PyLong_AsLongLong(h), wv = PyLong_AsLongLong(w);
    if (PyErr_Occurred() || hv < 0 || wv < 0 || hv > (1LL << 31) || wv > (1LL << 31)) return 0;
    *total = (int64_t)(hv * wv);
    if (PyBytes_Check(counts)) return PyBytes_AsStringAndSize(counts, (char **)s, len) == 0;
    if (PyUnicode_Check(counts)) {
        *s = PyUnicode_AsUTF8AndSize(counts, len);
        return *s != NULL;
    }
    return 0;
}

PyObject *bytes_of_size(Py_ssize_t size) {
    return PyBytes_FromStringAndSize(NULL, size > 0 ? size : 1);
}

/* `share` run on its two halves of the work, `first` here and `second` on a helper thread when
 * `two_threads` (and a thread can be made), else both here. Called without the GIL. */
static void run_shares(void *(*share)(void *), void *first, void *second, int two_threads) {
    pthread_t helper;
    const int spawned = two_threads && pthread_create(&helper, NULL, share, second) == 0;
    share(first);
    if (spawned) pthread_join(helper, NULL);
    else share(second);
}

/* The most threads one call shares its masks over. */
#define MAX_SHARES 64

/* `share` run on `count` shares of `size` bytes each at `shares`: the first here, the others
 * on helper threads (run here where a thread cannot be made). Called without the GIL. */
static void run_many(void *(*share)(void *), void *shares, int count, size_t size) {
    pthread_t helpers[MAX_SHARES];
    int spawned[MAX_SHARES] = {0};
    char *base = shares;
    for (int t = 1; t < count; t++)
        spawned[t] = pthread_create(&helpers[t], NULL, share, base + t * size) == 0;
    share(base);
    for (int t = 1; t < count; t++) {
        if (spawned[t]) pthread_join(helpers[t], NULL);
        else share(base + t * size);
    }
}

/* 1 when every pair's rows lie in [0, n_a) and [0, n_b), else 0 with IndexError set. */
static int pair_rows_in_range(const int64_t *arow, const int64_t *brow, Py_ssize_t n,
                              Py_ssize_t n_a, Py_ssize_t n_b) {
    for (Py_ssize_t k = 0; k < n; k++) {
        if (arow[k] < 0 || arow[k] >= n_a || brow[k] < 0 || brow[k] >= n_b) {
            PyErr_SetString(PyExc_IndexError, "a row or b row out of range");
            return 0;
        }
    }
    return 1;
}

/* decode(segs, keep=None) -> False, or (True, counts, offsets, first, end, area)
 *
 * segs: list of RLE dicts with a compressed `counts` (str or bytes) and `size` [h, w]; keep:
 * one byte per mask, non-zero where its runs are wanted (default: all). Returns bytes holding
 * the uint32 counts of the kept masks concatenated, int64 offsets [n + 1] into them (a mask
 * not kept has none), int64 first / end: the linear index of each mask's first foreground pixel and
 * one past its last (0, 0 when empty), and float64 area (foreground pixels). False when any
 * entry is not such a dict or its mask is malformed. */
static PyObject *decode_masks(PyObject *segs, Py_ssize_t n, const unsigned char *keep);

static PyObject *decode(PyObject *self, PyObject *args) {
    PyObject *segs, *keep_arg = Py_None;
    if (!PyArg_ParseTuple(args, "O!|O", &PyList_Type, &segs, &keep_arg)) return NULL;
    Py_ssize_t n = PyList_GET_SIZE(segs);
    Py_buffer keep_buf = {0};
    const unsigned char *keep = NULL;
    if (keep_arg != Py_None) {
        if (PyObject_GetBuffer(keep_arg, &keep_buf, PyBUF_SIMPLE) < 0) return NULL;
        if (keep_buf.len != n) {
            PyBuffer_Release(&keep_buf);
            PyErr_SetString(PyExc_ValueError, "keep must hold one byte per mask");
            return NULL;
        }
        keep = keep_buf.buf;
    }
    PyObject *out = decode_masks(segs, n, keep);
    if (keep) PyBuffer_Release(&keep_buf);
    return out;
}

/* One thread's share of `decode_masks`: masks [first, last) into `c` from `start` on. */
typedef struct {
    const char **strs;
    const Py_ssize_t *lens;
    const int64_t *totals;
    const unsigned char *keep;
    Py_ssize_t first, last, start;
    uint32_t *c;
    int64_t *off, *fst, *lst;
    double *ar;
    int json_text;  // strings are JSON text (decode_json_one)
    int ok;
} DecodeShare;

static void *decode_share(void *arg) {
    DecodeShare *d = arg;
    int64_t at = d->start;
    for (Py_ssize_t i = d->first; i < d->last; i++) {
        MaskInfo info;
        const int bad = d->json_text ? decode_json_one(d->strs[i], d->lens[i], d->c + at, &info)
                                     : decode_one(d->strs[i], d->lens[i], d->c + at, &info);
        if (bad < 0 ||
            (int64_t)info.pixels != d->totals[i]) {
            d->ok = 0;  // malformed, or its runs do not cover the frame exactly
            return NULL;
        }
        d->off[i] = at;  // where mask i starts (made a prefix sum by the caller)
        at += (d->keep == NULL || d->keep[i]) ? info.runs : 0;
        d->fst[i] = info.first;
        d->lst[i] = info.end;
        d->ar[i] = (double)info.foreground;
    }
    d->start = at;  // one past the share's last kept run
    return NULL;
}

static PyObject *decode_arrays(const char **strs, const Py_ssize_t *lens, const int64_t *totals,
                               Py_ssize_t n, const unsigned char *keep, int json_text);

static PyObject *decode_masks(PyObject *segs, Py_ssize_t n, const unsigned char *keep) {
    const char **strs = malloc((n + 1) * sizeof(char *));
    Py_ssize_t *lens = malloc((n + 1) * sizeof(Py_ssize_t));
    int64_t *totals = malloc((n + 1) * sizeof(int64_t));
    PyObject *result = NULL;
    if (!strs || !lens || !totals) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        if (!counts_of(PyList_GET_ITEM(segs, i), &strs[i], &lens[i], &totals[i])) {
            PyErr_Clear();
            result = Py_NewRef(Py_False);  // not a compressed RLE dict: not ours to decode
            goto done;
        }
    }
    result = decode_arrays(strs, lens, totals, n, keep, 0);
done:
    free(strs);
    free(lens);
    free(totals);
    return result;
}

/* decode_text(raw, starts, ends, totals, keep=None) -> as decode
 *
 * The strings are raw[starts[i]:ends[i]], each the text of a JSON string (its backslashes
 * doubled; see decode_json_one) of a mask whose height x width is totals[i]: a results file's
 * masks decoded where they lie, without a Python string each. */
static PyObject *decode_text(PyObject *self, PyObject *args) {
    Py_buffer raw, starts, ends, totals, keep_buf = {0};
    PyObject *keep_arg = Py_None, *result = NULL;
    if (!PyArg_ParseTuple(args, "y*y*y*y*|O", &raw, &starts, &ends, &totals, &keep_arg))
        return NULL;
    const Py_ssize_t n = starts.len / (Py_ssize_t)sizeof(int64_t);
    const int64_t *s0 = starts.buf, *e0 = ends.buf;
    const char **strs = malloc((n + 1) * sizeof(char *));
    Py_ssize_t *lens = malloc((n + 1) * sizeof(Py_ssize_t));
    if (!strs || !lens) {
        PyErr_NoMemory();
        goto done;
    }
    if (ends.len != starts.len || totals.len != starts.len) {
        PyErr_SetString(PyExc_ValueError, "starts, ends and totals differ in length");
        goto done;
    }
    if (keep_arg != Py_None) {
        if (PyObject_GetBuffer(keep_arg, &keep_buf, PyBUF_SIMPLE) < 0) goto done;
        if (keep_buf.len != n) {
            PyErr_SetString(PyExc_ValueError, "keep must hold one byte per mask");
            goto done;
        }
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        if (s0[i] < 0 || e0[i] < s0[i] || e0[i] > raw.len) {
            PyErr_SetString(PyExc_IndexError, "a string lies outside the text");
            goto done;
        }
        strs[i] = (const char *)raw.buf + s0[i];
        lens[i] = (Py_ssize_t)(e0[i] - s0[i]);
    }
    result = decode_arrays(strs, lens, totals.buf, n, keep_buf.buf, 1);
done:
    free(strs);
    free(lens);
    if (keep_buf.obj) PyBuffer_Release(&keep_buf);
    PyBuffer_Release(&raw);
    PyBuffer_Release(&starts);
    PyBuffer_Release(&ends);
    PyBuffer_Release(&totals);
    return result;
}

/* The masks strs[i] (lens[i] characters, totals[i] pixels) decoded on two threads. */
static PyObject *decode_arrays(const char **strs, const Py_ssize_t *lens, const int64_t *totals,
                               Py_ssize_t n, const unsigned char *keep, int json_text) {
    PyObject *counts = NULL, *offsets = NULL, *first = NULL, *end = NULL, *area = NULL;
    PyObject *result = NULL;
    // two shares of about equal text, each with room for a mask it does not keep
    Py_ssize_t text = 0, half = n, longest[2] = {0, 0}, kept[2] = {0, 0};
    for (Py_ssize_t i = 0; i < n; i++) text += lens[i];
    for (Py_ssize_t i = 0, seen = 0; i < n; i++) {
        if (half == n && seen * 2 >= text && i > 0) half = i;
        const int part = i >= half;
        if (keep == NULL || keep[i]) kept[part] += lens[i];
        if (lens[i] > longest[part]) longest[part] = lens[i];
        seen += lens[i];
    }
    const Py_ssize_t second = kept[0] + longest[0];
    counts = bytes_of_size((second + kept[1] + longest[1]) * (Py_ssize_t)sizeof(uint32_t));
    offsets = bytes_of_size((n + 1) * (Py_ssize_t)sizeof(int64_t));
    first = bytes_of_size(n * (Py_ssize_t)sizeof(int64_t));
    end = bytes_of_size(n * (Py_ssize_t)sizeof(int64_t));
    area = bytes_of_size(n * (Py_ssize_t)sizeof(double));
    if (!counts || !offsets || !first || !end || !area) goto done;
    uint32_t *c = (uint32_t *)PyBytes_AS_STRING(counts);
    int64_t *off = (int64_t *)PyBytes_AS_STRING(offsets);
    DecodeShare shares[2];
    for (int t = 0; t < 2; t++) {
        shares[t] = (DecodeShare){strs, lens, totals, keep, t ? half : 0, t ? n : half,
                                  t ? second : 0, c, off,
                                  (int64_t *)PyBytes_AS_STRING(first),
                                  (int64_t *)PyBytes_AS_STRING(end),
                                  (double *)PyBytes_AS_STRING(area), json_text, 1};
    }
    Py_BEGIN_ALLOW_THREADS;
    run_shares(decode_share, &shares[0], &shares[1], half < n);
    // the second share's runs follow the first's directly
    const int64_t shift = second - shares[0].start;
    if (shares[0].ok && shares[1].ok && shift > 0) {
        memmove(c + shares[0].start, c + second,
                (size_t)(shares[1].start - second) * sizeof(uint32_t));
        for (Py_ssize_t i = half; i < n; i++) off[i] -= shift;
    }
    off[n] = n ? shares[1].start - shift : 0;
    if (half == n) off[n] = shares[0].start;
    Py_END_ALLOW_THREADS;
    if (!shares[0].ok || !shares[1].ok) {
        result = Py_False;
        Py_INCREF(result);
        goto done;
    }
    result = Py_BuildValue("OOOOOO", Py_True, counts, offsets, first, end, area);
done:
    Py_XDECREF(counts);
    Py_XDECREF(offsets);
    Py_XDECREF(first);
    Py_XDECREF(end);
    Py_XDECREF(area);
    return result;
}

/* |A ∩ B| of two masks of the same size, by walking both masks' foreground intervals once
 * (runs alternate background, foreground; zero-length runs are allowed anywhere): each step
 * adds the overlap of the current two intervals and moves past the one that ends first. */
static uint64_t intersect(const uint32_t *a, int64_t na, const uint32_t *b, int64_t nb) {
    uint64_t inter = 0;
    if (na < 2 || nb < 2) return 0;
    int64_t ia = 1, ib = 1;  // the current foreground runs
    uint64_t sa = a[0], sb = b[0];  // where they start
    for (;;) {
        const uint64_t ea = sa + a[ia], eb = sb + b[ib];
        const uint64_t lo = sa > sb ? sa : sb, hi = ea < eb ? ea : eb;
        if (hi > lo) inter += hi - lo;
        if (ea <= eb) {
            ia += 2;
            if (ia >= na) break;
            sa = ea + a[ia - 1];
        } else {
            ib += 2;
            if (ib >= nb) break;
            sb = eb + b[ib - 1];
        }
    }
    return inter;
}

/* intersections(a_counts, a_offsets, a_first, a_end, b_counts, b_offsets, b_first, b_end,
 *               a_rows, b_rows) -> bytes of float64 |A[a_rows[k]] ∩ B[b_rows[k]]| per k.
 * The masks of a pair must have the same size (the caller pairs only such masks). */
/* One thread's share of `intersections`: pairs [first, last). */
typedef struct {
    const uint32_t *ac;
    const int64_t *aoff, *afst, *aend;
    const uint32_t *bc;
    const int64_t *boff, *bfst, *bend, *arow, *brow;
    double *o;
    Py_ssize_t first, last;
} PairShare;

static void *pair_share(void *arg) {
    const PairShare *p = arg;
    for (Py_ssize_t k = p->first; k < p->last; k++) {
        const int64_t i = p->arow[k], j = p->brow[k];
        // foreground spans that do not overlap: nothing to merge
        if (p->afst[i] >= p->bend[j] || p->bfst[j] >= p->aend[i]) {
            p->o[k] = 0.0;
            continue;
        }
        p->o[k] = (double)intersect(p->ac + p->aoff[i], p->aoff[i + 1] - p->aoff[i],
                                    p->bc + p->boff[j], p->boff[j + 1] - p->boff[j]);
    }
    return NULL;
}

static PyObject *intersections(PyObject *self, PyObject *args) {
    Py_buffer buf[10];
    if (!PyArg_ParseTuple(args, "y*y*y*y*y*y*y*y*y*y*", &buf[0], &buf[1], &buf[2], &buf[3],
                          &buf[4], &buf[5], &buf[6], &buf[7], &buf[8], &buf[9]))
        return NULL;
    const uint32_t *ac = buf[0].buf, *bc = buf[4].buf;
    const int64_t *aoff = buf[1].buf, *afst = buf[2].buf, *aend = buf[3].buf;
    const int64_t *boff = buf[5].buf, *bfst = buf[6].buf, *bend = buf[7].buf;
    const int64_t *arow = buf[8].buf, *brow = buf[9].buf;
    Py_ssize_t n = buf[8].len / (Py_ssize_t)sizeof(int64_t);
    Py_ssize_t n_a = buf[2].len / (Py_ssize_t)sizeof(int64_t);
    Py_ssize_t n_b = buf[6].len / (Py_ssize_t)sizeof(int64_t);
    PyObject *out = NULL;
    if (buf[9].len != buf[8].len) {
        PyErr_SetString(PyExc_ValueError, "a_rows and b_rows must have the same length");
        goto done;
    }
    if (!pair_rows_in_range(arow, brow, n, n_a, n_b)) goto done;
    out = bytes_of_size(n * (Py_ssize_t)sizeof(double));
    if (!out) goto done;
    PairShare shares[2];
    for (int t = 0; t < 2; t++) {
        shares[t] = (PairShare){ac, aoff, afst, aend, bc, boff, bfst, bend, arow, brow,
                                (double *)PyBytes_AS_STRING(out), t ? n / 2 : 0, t ? n : n / 2};
    }
    Py_BEGIN_ALLOW_THREADS;
    run_shares(pair_share, &shares[0], &shares[1], n > 1);
    Py_END_ALLOW_THREADS;
done:
    for (int b = 0; b < 10; b++) PyBuffer_Release(&buf[b]);
    return out;
}

/* intersections_text(raw, starts, ends, a_first, a_end, b_counts, b_offsets, b_first, b_end,
 *                    a_rows, b_rows) -> bytes of float64, as `intersections`
 *
 * Side A is mask strings lying in a JSON text (string i is raw[starts[i]:ends[i]], as for
 * decode_text), whose spans a_first / a_end a decode without kept runs gave: each string an
 * entry needs is decoded again into a small buffer that stays in cache, once for the entries
 * that follow each other with it (the metric lists a result frame's entries together), so a
 * results file's runs are never stored whole. The strings must be well formed (the caller
 * decoded them before); a string that is not raises ValueError. */
typedef struct {
    const char *text;
    const int64_t *s0, *e0, *afst, *aend;
    const uint32_t *bc;
    const int64_t *boff, *bfst, *bend, *arow, *brow;
    double *o;
    Py_ssize_t first, last;
    int ok;
} TextPairShare;

static void *text_pair_share(void *arg) {
    TextPairShare *p = arg;
    int64_t longest = 0;
    for (Py_ssize_t k = p->first; k < p->last; k++) {
        const int64_t i = p->arow[k];
        if (p->e0[i] - p->s0[i] > longest) longest = p->e0[i] - p->s0[i];
    }
    uint32_t *runs = malloc((size_t)(longest + 1) * sizeof(uint32_t));  // runs <= characters
    if (runs == NULL) {
        p->ok = -1;
        return NULL;
    }
    int64_t held = -1;  // the string whose runs `runs` holds
    Py_ssize_t n_runs = 0;
    for (Py_ssize_t k = p->first; k < p->last; k++) {
        const int64_t i = p->arow[k], j = p->brow[k];
        if (p->afst[i] >= p->bend[j] || p->bfst[j] >= p->aend[i]) {
            p->o[k] = 0.0;
            continue;
        }
        if (i != held) {
            MaskInfo info;
            if (decode_json_one(p->text + p->s0[i], p->e0[i] - p->s0[i], runs, &info) < 0) {
                p->ok = 0;
                break;
            }
            n_runs = info.runs;
            held = i;
        }
        p->o[k] = (double)intersect(runs, n_runs, p->bc + p->boff[j], p->boff[j + 1] - p->boff[j]);
    }
    free(runs);
    return NULL;
}

static PyObject *intersections_text(PyObject *self, PyObject *args) {
    Py_buffer buf[11];
    if (!PyArg_ParseTuple(args, "y*y*y*y*y*y*y*y*y*y*y*", &buf[0], &buf[1], &buf[2], &buf[3],
                          &buf[4], &buf[5], &buf[6], &buf[7], &buf[8], &buf[9], &buf[10]))
        return NULL;
    const int64_t *s0 = buf[1].buf, *e0 = buf[2].buf, *afst = buf[3].buf, *aend = buf[4].buf;
    const uint32_t *bc = buf[5].buf;
    const int64_t *boff = buf[6].buf, *bfst = buf[7].buf, *bend = buf[8].buf;
    const int64_t *arow = buf[9].buf, *brow = buf[10].buf;
    const Py_ssize_t n = buf[9].len / (Py_ssize_t)sizeof(int64_t);
    const Py_ssize_t n_a = buf[1].len / (Py_ssize_t)sizeof(int64_t);
    const Py_ssize_t n_b = buf[7].len / (Py_ssize_t)sizeof(int64_t);
    PyObject *out = NULL;
    if (buf[10].len != buf[9].len || buf[2].len != buf[1].len || buf[3].len != buf[1].len ||
        buf[4].len != buf[1].len) {
        PyErr_SetString(PyExc_ValueError, "intersections_text: arrays differ in length");
        goto done;
    }
    if (!pair_rows_in_range(arow, brow, n, n_a, n_b)) goto done;
    for (Py_ssize_t k = 0; k < n; k++) {
        const int64_t i = arow[k];
        if (s0[i] < 0 || e0[i] < s0[i] || e0[i] > buf[0].len) {
            PyErr_SetString(PyExc_IndexError, "a string lies outside the text");
            goto done;
        }
    }
    out = bytes_of_size(n * (Py_ssize_t)sizeof(double));
    if (!out) goto done;
    TextPairShare shares[2];
    for (int t = 0; t < 2; t++) {
        shares[t] = (TextPairShare){buf[0].buf, s0, e0, afst, aend, bc, boff, bfst, bend, arow,
                                    brow, (double *)PyBytes_AS_STRING(out),
                                    t ? n / 2 : 0, t ? n : n / 2, 1};
    }
    Py_BEGIN_ALLOW_THREADS;
    run_shares(text_pair_share, &shares[0], &shares[1], n > 1);
    Py_END_ALLOW_THREADS;
    if (shares[0].ok < 0 || shares[1].ok < 0) {
        Py_CLEAR(out);
        PyErr_NoMemory();
    } else if (!shares[0].ok || !shares[1].ok) {
        Py_CLEAR(out);
        PyErr_SetString(PyExc_ValueError, "intersections_text: a mask string is malformed");
    }
done:
    for (int b = 0; b < 11; b++) PyBuffer_Release(&buf[b]);
    return out;
}

/* Append count list `v[0..m)` to `out` as a COCO compressed string, byte for byte what
 * pycocotools' rleToString writes; returns the characters written (at most 6 per count). */
Py_ssize_t encode_one(const uint32_t *v, Py_ssize_t m, char *out) {
    Py_ssize_t p = 0;
    for (Py_ssize_t i = 0; i < m; i++) {
        int64_t x = (int64_t)v[i];
        if (i > 2) x -= (int64_t)v[i - 2];
        int more = 1;
        while (more) {
            char c = (char)(x & 0x1f);
            x >>= 5;
            more = (c & 0x10) ? x != -1 : x != 0;
            if (more) c |= 0x20;
            out[p++] = (char)(c + 48);
        }
    }
    return p;
}

/* plain_result_frames(segs) -> bool: every entry is None or a dict (exactly) whose `counts`
 * is a str and whose `size` a list of two items: the common case of a result's frames, which
 * the loader then takes as they are (anything else goes through its per-frame checks). */
static PyObject *plain_result_frames(PyObject *self, PyObject *segs) {
    if (!PyList_Check(segs)) Py_RETURN_FALSE;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(segs); i++) {
        PyObject *seg = PyList_GET_ITEM(segs, i);
        if (seg == Py_None) continue;
        if (!PyDict_CheckExact(seg)) Py_RETURN_FALSE;
        PyObject *counts = PyDict_GetItem(seg, key_counts);
        PyObject *size = PyDict_GetItem(seg, key_size);
        if (counts == NULL || !PyUnicode_CheckExact(counts) || size == NULL ||
            !PyList_CheckExact(size) || PyList_GET_SIZE(size) != 2)
            Py_RETURN_FALSE;
    }
    Py_RETURN_TRUE;
}

/* plain_marker_frames(segs, next) -> int: plain_result_frames for frames whose strings were cut
 * out of the text (result_strings.py): every entry None or an exact dict without `counts`,
 * whose marker key holds the int `next`, `next + 1`, ... in turn, and whose `size` is a list of
 * two ints in [0, 2**31]. Returns the marker expected after them, or -1 when any is not so. */
static PyObject *plain_marker_frames(PyObject *self, PyObject *args) {
    PyObject *segs;
    Py_ssize_t next;
    if (!PyArg_ParseTuple(args, "On", &segs, &next)) return NULL;
    if (!PyList_Check(segs)) return PyLong_FromLong(-1);
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(segs); i++) {
        PyObject *seg = PyList_GET_ITEM(segs, i);
        if (seg == Py_None) continue;
        if (!PyDict_CheckExact(seg) || PyDict_GetItem(seg, key_counts) != NULL)
            return PyLong_FromLong(-1);
        PyObject *marker = PyDict_GetItem(seg, key_marker);
        PyObject *size = PyDict_GetItem(seg, key_size);
        if (marker == NULL || !PyLong_CheckExact(marker) || size == NULL ||
            !PyList_CheckExact(size) || PyList_GET_SIZE(size) != 2)
            return PyLong_FromLong(-1);
        if (PyLong_AsSsize_t(marker) != next) {
            PyErr_Clear();
            return PyLong_FromLong(-1);
        }
        for (int j = 0; j < 2; j++) {
            PyObject *side = PyList_GET_ITEM(size, j);
            if (!PyLong_CheckExact(side)) return PyLong_FromLong(-1);
            const long long v = PyLong_AsLongLong(side);
            if (v < 0 || v > (1LL << 31)) {
                PyErr_Clear();
                return PyLong_FromLong(-1);
            }
        }
        next++;
    }
    return PyLong_FromSsize_t(next);
}

/* frame_columns(tracks, with_marker) -> False, or
 *     (lengths, present, height, width, source, segs)
 *
 * The columns of the metric's frame table (overlaps.py) in one pass over tracks of frame
 * entries (None, or a dict with a `size` list of two ints): int64 bytes of each track's length,
 * and of each present frame's flat index, height and width; with `with_marker`, its marker (a
 * cut string's number, result_strings.py), else None; and the list of present entries. False
 * when an entry is not such a dict (the Python code then builds the table). */
static PyObject *frame_columns(PyObject *self, PyObject *args) {
    PyObject *tracks;
    int with_marker;
    if (!PyArg_ParseTuple(args, "O!p", &PyList_Type, &tracks, &with_marker)) return NULL;
    const Py_ssize_t n_tracks = PyList_GET_SIZE(tracks);
    Py_ssize_t total = 0;
    for (Py_ssize_t i = 0; i < n_tracks; i++) {
        PyObject *track = PyList_GET_ITEM(tracks, i);
        if (!PyList_Check(track)) Py_RETURN_FALSE;
        total += PyList_GET_SIZE(track);
    }
    PyObject *lengths = bytes_of_size(n_tracks * (Py_ssize_t)sizeof(int64_t));
    PyObject *present = bytes_of_size(total * (Py_ssize_t)sizeof(int64_t));
    PyObject *height = bytes_of_size(total * (Py_ssize_t)sizeof(int64_t));
    PyObject *width = bytes_of_size(total * (Py_ssize_t)sizeof(int64_t));
    PyObject *source = with_marker ? bytes_of_size(total * (Py_ssize_t)sizeof(int64_t)) : NULL;
    PyObject *segs = PyList_New(0), *result = NULL;
    if (!lengths || !present || !height || !width || (with_marker && !source) || !segs) goto done;
    int64_t *len_v = (int64_t *)PyBytes_AS_STRING(lengths);
    int64_t *at_v = (int64_t *)PyBytes_AS_STRING(present);
    int64_t *h_v = (int64_t *)PyBytes_AS_STRING(height);
    int64_t *w_v = (int64_t *)PyBytes_AS_STRING(width);
    int64_t *src_v = with_marker ? (int64_t *)PyBytes_AS_STRING(source) : NULL;
    Py_ssize_t flat = 0, m = 0;
    for (Py_ssize_t i = 0; i < n_tracks; i++) {
        PyObject *track = PyList_GET_ITEM(tracks, i);
        len_v[i] = PyList_GET_SIZE(track);
        for (Py_ssize_t t = 0; t < PyList_GET_SIZE(track); t++, flat++) {
            PyObject *seg = PyList_GET_ITEM(track, t);
            if (seg == Py_None) continue;
            PyObject *size = PyDict_Check(seg) ? PyDict_GetItem(seg, key_size) : NULL;
            PyObject *marker = with_marker && PyDict_Check(seg) ? PyDict_GetItem(seg, key_marker)
                                                                : NULL;
            if (size == NULL || !PyList_Check(size) || PyList_GET_SIZE(size) != 2 ||
                !PyLong_CheckExact(PyList_GET_ITEM(size, 0)) ||
                !PyLong_CheckExact(PyList_GET_ITEM(size, 1)) ||
                (with_marker && (marker == NULL || !PyLong_CheckExact(marker)))) {
                result = Py_NewRef(Py_False);
                goto done;
            }
            h_v[m] = PyLong_AsLongLong(PyList_GET_ITEM(size, 0));
            w_v[m] = PyLong_AsLongLong(PyList_GET_ITEM(size, 1));
            if (with_marker) src_v[m] = PyLong_AsLongLong(marker);
            if (PyErr_Occurred()) {
                PyErr_Clear();
                result = Py_NewRef(Py_False);
                goto done;
            }
            at_v[m++] = flat;
            if (PyList_Append(segs, seg) < 0) goto done;
        }
    }
    result = Py_BuildValue("OOOOOO", lengths, present, height, width,
                           with_marker ? source : Py_None, segs);
done:
    Py_XDECREF(lengths);
    Py_XDECREF(present);
    Py_XDECREF(height);
    Py_XDECREF(width);
    Py_XDECREF(source);
    Py_XDECREF(segs);
    return result;
}

/* ---- Final masks: bilinear resize, threshold and RLE in one pass ----------------------------
 *
 * resize_encode(data, n, h, w, H, W, cut[, threads]) -> [(counts str, non-empty bool)] * n
 *
 * The masks [n, h, w] (float32) resized to [H, W] the way PyTorch's CPU `upsample_bilinear2d`
 * (align_corners=False) computes every pixel, compared with `> cut` and run-length encoded in
 * column-major order as COCO's compressed string, without materialising any [H, W] array.
 *
 * An output pixel is a convex combination of four source values. When all four lie above
 * `cut` by more than the rounding error of the combination (8 ulps of the mask's largest
 * magnitude), or all four below it by as much, the pixel's side is known without arithmetic;
 * a finite value >= 0 (<= 0) stays so whatever the weights. Output rows sharing their two
 * source rows form a segment, output columns sharing their two source columns a group: the
 * side of a (segment, group) cell is decided once, and only cells whose four values straddle
 * the cut are computed pixel by pixel, with PyTorch's operations in its order (the source
 * coordinate `fma(scale, i + 0.5, -0.5)`, each row interpolated as `fma(a, w0, b * w1)`, then
 * the two rows the same way), so the side of every pixel is the one `interpolate` gives. */
#include <math.h>
#include <stdlib.h>

typedef struct {
    int32_t *i0, *i1;
    float *l0, *l1;
} Axis;

/* PyTorch's compute_source_index_and_lambda for `out` positions over `in` source positions. */
static int axis_weights(Py_ssize_t in, Py_ssize_t out, Axis *a) {
    a->i0 = malloc(out * sizeof(int32_t));
    a->i1 = malloc(out * sizeof(int32_t));
    a->l0 = malloc(out * sizeof(float));
    a->l1 = malloc(out * sizeof(float));
    if (!a->i0 || !a->i1 || !a->l0 || !a->l1) return -1;
    const float scale = (float)in / (float)out;
    for (Py_ssize_t i = 0; i < out; i++) {
        if (in == out) {
            a->i0[i] = a->i1[i] = (int32_t)i;
            a->l0[i] = 1.0f;
            a->l1[i] = 0.0f;
            continue;
        }
        float real = fmaf(scale, (float)i + 0.5f, -0.5f);
        if (real < 0) real = 0;
        int64_t index = (int64_t)floorf(real);
        if (index > in - 1) index = in - 1;
        float lambda = real - (float)index;
        lambda = lambda < 0 ? 0 : (lambda > 1 ? 1 : lambda);
        a->i0[i] = (int32_t)index;
        a->i1[i] = (int32_t)(index + (index < in - 1 ? 1 : 0));
        a->l1[i] = lambda;
        a->l0[i] = 1.0f - lambda;
    }
    return 0;
}

static void axis_free(Axis *a) {
    free(a->i0);
    free(a->i1);
    free(a->l0);
    free(a->l1);
}

/* Run-length state of one mask in column-major order (first run: background). */
typedef struct {
    uint32_t *counts;
    Py_ssize_t m;
    int bit;
    uint32_t run;
    int any;
} Runs;

static inline void emit(Runs *r, int bit, uint32_t len) {
    if (bit == r->bit) {
        r->run += len;
    } else {
        r->counts[r->m++] = r->run;
        r->bit = bit;
        r->run = len;
    }
    r->any |= bit;
}

/* one segment of a column: 1 foreground, 0 background, 2 computed pixel by pixel */
static inline int cell_side(const uint8_t *side, Py_ssize_t w, int32_t r0, int32_t r1, int32_t c0,
                            int32_t c1) {
    const int s = side[r0 * w + c0] & side[r0 * w + c1] & side[r1 * w + c0] & side[r1 * w + c1];
    return (s & 1) ? 1 : ((s & 2) ? 0 : 2);
}

typedef struct {
    Py_ssize_t h, w, H, W, segments;
    Axis rows, cols;
    int32_t *seg_y0, *seg_len;  // output rows of each segment
    float cut;
} Resize;

/* The column's items: runs of segments of one known side merged, straddling segments alone. */
typedef struct {
    int32_t side, y0, len, seg;
} Item;

static Py_ssize_t column_items(const Resize *z, const uint8_t *side, int32_t c0, int32_t c1,
                               Item *items) {
    const Axis *R = &z->rows;
    Py_ssize_t m = 0;
    for (Py_ssize_t k = 0; k < z->segments; k++) {
        const int32_t y = z->seg_y0[k];
        const int cls = cell_side(side, z->w, R->i0[y], R->i1[y], c0, c1);
        if (cls != 2 && m > 0 && items[m - 1].side == cls) {
            items[m - 1].len += z->seg_len[k];
            continue;
        }
        items[m++] = (Item){cls, y, z->seg_len[k], (int32_t)k};
    }
    return m;
}

/* One mask -> its runs in `r` (capacity H * W + 1). `side` (h * w bytes) and `items`
 * (H entries) are scratch. */
static void resize_one(const Resize *z, const float *v, uint8_t *side, Item *items, Runs *r) {
    const Py_ssize_t h = z->h, w = z->w;
    float big = 0;
    int finite = 1;
    for (Py_ssize_t i = 0; i < h * w; i++) {
        const float a = fabsf(v[i]);
        if (!(a <= 3.4e38f)) finite = 0;  // inf or nan
        else if (a > big) big = a;
    }
    const float margin = finite ? big * (8.0f / 16777216.0f) + 1e-37f : INFINITY;
    const float cut = z->cut;
    for (Py_ssize_t i = 0; i < h * w; i++) {
        const float x = v[i];
        const int ok = fabsf(x) <= 3.4e38f;
        const int above = (x > cut + margin) || (ok && cut < 0 && x >= 0);
        const int below = (x < cut - margin) || (ok && cut >= 0 && x <= 0);
        side[i] = (uint8_t)((above ? 1 : 0) | (below ? 2 : 0));
    }
    r->m = 0;
    r->bit = 0;
    r->run = 0;
    r->any = 0;
    const Axis *R = &z->rows, *C = &z->cols;
    Py_ssize_t count = 0;
    for (Py_ssize_t x = 0; x < z->W; x++) {
        const int32_t c0 = C->i0[x], c1 = C->i1[x];
        if (x == 0 || c0 != C->i0[x - 1] || c1 != C->i1[x - 1])
            count = column_items(z, side, c0, c1, items);
        const float w0 = C->l0[x], w1 = C->l1[x];
        for (Py_ssize_t k = 0; k < count; k++) {
            const Item it = items[k];
            if (it.side != 2) {
                emit(r, it.side, (uint32_t)it.len);
                continue;
            }
            const int32_t r0 = R->i0[it.y0], r1 = R->i1[it.y0];
            const float t0 = fmaf(v[r0 * w + c0], w0, v[r0 * w + c1] * w1);
            const float t1 = fmaf(v[r1 * w + c0], w0, v[r1 * w + c1] * w1);
            for (int32_t y = it.y0; y < it.y0 + it.len; y++) {
                const float out = fmaf(t0, R->l0[y], t1 * R->l1[y]);
                emit(r, out > cut, 1);
            }
        }
    }
    r->counts[r->m++] = r->run;
}

static int resize_setup(Resize *z) {
    if (axis_weights(z->h, z->H, &z->rows) || axis_weights(z->w, z->W, &z->cols)) return -1;
    z->seg_y0 = malloc(z->H * sizeof(int32_t));
    z->seg_len = malloc(z->H * sizeof(int32_t));
    if (!z->seg_y0 || !z->seg_len) return -1;
    z->segments = 0;
    for (Py_ssize_t y = 0; y < z->H; y++) {
        if (y > 0 && z->rows.i0[y] == z->rows.i0[y - 1] && z->rows.i1[y] == z->rows.i1[y - 1]) {
            z->seg_len[z->segments - 1]++;
        } else {
            z->seg_y0[z->segments] = (int32_t)y;
            z->seg_len[z->segments] = 1;
            z->segments++;
        }
    }
    return 0;
}

/* A share of the masks [first, last) encoded by one thread into its own buffers. */
typedef struct {
    const Resize *z;
    const float *data;
    Py_ssize_t first, last;
    char **texts;       // per mask, malloc'd
    Py_ssize_t *lengths;
    int *any;
    int failed;
} Share;

static void *encode_share(void *arg) {
    Share *sh = arg;
    if (sh->first >= sh->last) return NULL;  // an empty share needs no buffers
    const Resize *z = sh->z;
    uint8_t *side = malloc(z->h * z->w);
    Item *items = malloc(z->H * sizeof(Item));
    Runs r = {0};
    r.counts = malloc((z->H * z->W + 1) * sizeof(uint32_t));
    if (!side || !items || !r.counts) sh->failed = 1;
    for (Py_ssize_t i = sh->first; i < sh->last && !sh->failed; i++) {
        resize_one(z, sh->data + i * z->h * z->w, side, items, &r);
        char *text = malloc(r.m * 7 + 1);
        if (text == NULL) {
            sh->failed = 1;
            break;
        }
        sh->lengths[i] = encode_one(r.counts, r.m, text);
        sh->texts[i] = text;
        sh->any[i] = r.any;
    }
    free(side);
    free(items);
    free(r.counts);
    return NULL;
}

static PyObject *resize_encode(PyObject *self, PyObject *args) {
    Py_buffer buf;
    Py_ssize_t n;
    int threads = 1;
    Resize z = {0};
    if (!PyArg_ParseTuple(args, "y*nnnnnf|i", &buf, &n, &z.h, &z.w, &z.H, &z.W, &z.cut, &threads))
        return NULL;
    PyObject *out = NULL;
    char **texts = NULL;
    Py_ssize_t *lengths = NULL;
    int *any = NULL;
    if (n < 0 || z.h <= 0 || z.w <= 0 || z.H <= 0 || z.W <= 0 ||
        buf.len != (Py_ssize_t)(n * z.h * z.w * sizeof(float)) || z.H * z.W >= 0xffffffffLL) {
        PyErr_SetString(PyExc_ValueError, "resize_encode: buffer and sizes disagree");
        goto done;
    }
    texts = calloc(n + 1, sizeof(char *));
    lengths = calloc(n + 1, sizeof(Py_ssize_t));
    any = calloc(n + 1, sizeof(int));
    if (!texts || !lengths || !any || resize_setup(&z)) {
        PyErr_NoMemory();
        goto done;
    }
    // one share of consecutive masks per thread (the caller's thread takes the first)
    const int parts = (int)(threads < 1 ? 1 : (threads > MAX_SHARES ? MAX_SHARES : threads));
    const int used = (int)(n < parts ? (n > 0 ? n : 1) : parts);
    Share shares[MAX_SHARES];
    for (int t = 0; t < used; t++) {
        shares[t] = (Share){&z, buf.buf, n * t / used, n * (t + 1) / used, texts, lengths, any, 0};
    }
    Py_BEGIN_ALLOW_THREADS;
    run_many(encode_share, shares, used, sizeof(Share));
    Py_END_ALLOW_THREADS;
    int failed = 0;
    for (int t = 0; t < used; t++) failed |= shares[t].failed;
    if (failed) {
        PyErr_NoMemory();
        goto done;
    }
    out = PyList_New(n);
    if (out == NULL) goto done;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *item = Py_BuildValue("(s#O)", texts[i], lengths[i], any[i] ? Py_True : Py_False);
        if (item == NULL) {
            Py_CLEAR(out);
            goto done;
        }
        PyList_SET_ITEM(out, i, item);
    }
done:
    if (texts)
        for (Py_ssize_t i = 0; i < n; i++) free(texts[i]);
    free(texts);
    free(lengths);
    free(any);
    axis_free(&z.rows);
    axis_free(&z.cols);
    free(z.seg_y0);
    free(z.seg_len);
    PyBuffer_Release(&buf);
    return out;
}

static PyMethodDef methods[] = {
    {"decode", decode, METH_VARARGS, "Decode compressed RLE dicts into one flat run array."},
    {"decode_text", decode_text, METH_VARARGS,
     "Decode compressed RLE strings where they lie in a JSON text."},
    {"intersections", intersections, METH_VARARGS, "Exact |A ∩ B| of many mask pairs."},
    {"intersections_text", intersections_text, METH_VARARGS,
     "Exact |A ∩ B| of many mask pairs, A decoded again from its JSON text on the way."},
    {"plain_result_frames", plain_result_frames, METH_O,
     "True when every entry is None or a compressed RLE dict."},
    {"frame_columns", frame_columns, METH_VARARGS,
     "The columns of the metric's frame table, in one pass over tracks of frames."},
    {"plain_marker_frames", plain_marker_frames, METH_VARARGS,
     "The next marker after a result's plain frames whose strings were cut out, or -1."},
    {"cut_count_lists", cut_count_lists, METH_VARARGS,
     "Cut, parse and encode the count lists of a GT JSON text (_count_text.c)."},
    {"cut_result_strings", cut_result_strings, METH_O,
     "Cut the mask strings out of a results JSON text (_count_text.c)."},
    {"resize_encode", resize_encode, METH_VARARGS,
     "Bilinear resize, threshold and compressed RLE of many masks, as PyTorch's CPU resize."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_rle_kernel", "Bulk COCO RLE decoding and intersections.", -1,
    methods,
};

PyMODINIT_FUNC PyInit__rle_kernel(void) {
    key_counts = PyUnicode_InternFromString("counts");
    key_size = PyUnicode_InternFromString("size");
    key_marker = PyUnicode_FromStringAndSize("\0", 1);
    if (key_counts == NULL || key_size == NULL || key_marker == NULL) return NULL;
    return PyModule_Create(&module);
}
