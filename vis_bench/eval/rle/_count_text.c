/* The metric readers' compiled half. A GT file: cut the `"counts": [...]` lists out of its
 * JSON text, parse them, and encode each as a COCO compressed string, all without the GIL and
 * the parsing on two threads (count_lists.py states what is accepted and why; the pure-Python
 * reader there gives the same result and is the reference).
 *
 * cut_count_lists(raw, limit) -> None, False or
 *     (remainder, body_starts, body_ends, foreground, strings, n,
 *      runs, run_offsets, first, end, pixels)
 *
 * A cut starts at `"counts":` not preceded by a backslash (nor at offset 0) and followed by `[`
 * or ` [`; it ends at the next `]`. The remainder is `raw` with cut k (key through bracket)
 * replaced by `"\u0000":k`. Each body holds JSON integers separated by "," or ", ": no sign,
 * fraction, exponent or leading zero, at most 8 digits and below `limit`. Returns None when
 * there is no cut or a list never closes, False when a body is not in that layout (the caller
 * then parses the document the ordinary way); body_starts / body_ends: int64 [n] bytes, list
 * k's text being raw[body_starts[k]:body_ends[k]]; foreground: float64 sum of each list's
 * odd-position values in uint32 arithmetic (pycocotools `area`); strings: every list as a COCO
 * compressed RLE string (a list of bytes). The values are kept as the metric's decoder would
 * give them back from those strings (bulk_rle.DecodedMasks): runs (uint32, every list's
 * values in turn), run_offsets (int64 [n + 1]), first / end (int64 [n], the foreground's
 * linear bounds) and pixels (int64 [n], the sum of the values, -1 for an empty list), so the
 * metric need not decode the strings it was just given. */
#define _GNU_SOURCE 1  // memmem
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "_rle_kernel.h"

static const char KEY[] = "\"counts\":";
static const char MARKER[] = "\"\\u0000\":";

/* The cuts of `raw`, as (key start, body start, body end) triples in document order. */
typedef struct {
    int64_t *at, *body, *end;
    Py_ssize_t n, capacity;
} Cuts;

static int cuts_push(Cuts *c, int64_t at, int64_t body, int64_t end) {
    if (c->n == c->capacity) {
        Py_ssize_t grown = c->capacity ? 2 * c->capacity : 1024;
        int64_t *a = realloc(c->at, grown * sizeof(int64_t));
        if (a) c->at = a;
        int64_t *b = realloc(c->body, grown * sizeof(int64_t));
        if (b) c->body = b;
        int64_t *e = realloc(c->end, grown * sizeof(int64_t));
        if (e) c->end = e;
        if (!a || !b || !e) return -1;
        c->capacity = grown;
    }
    c->at[c->n] = at;
    c->body[c->n] = body;
    c->end[c->n] = end;
    c->n++;
    return 0;
}

static void cuts_free(Cuts *c) {
    free(c->at);
    free(c->body);
    free(c->end);
}

/* The next `"counts":` at or after p followed by `open` (or a space and `open`), its quote not
 * after a backslash nor at offset 0: its key's start, with *body just past `open`; NULL when
 * there is none. */
static const char *next_key(const char *raw, const char *p, const char *stop, char open,
                            const char **body) {
    const Py_ssize_t key_len = (Py_ssize_t)sizeof(KEY) - 1;
    while (p < stop) {
        const char *hit = memmem(p, (size_t)(stop - p), KEY, (size_t)key_len);
        if (hit == NULL) return NULL;
        const char *after = hit + key_len;
        *body = NULL;
        if (after < stop && *after == open) *body = after + 1;
        else if (after + 1 < stop && after[0] == ' ' && after[1] == open) *body = after + 2;
        if (*body != NULL && hit != raw && hit[-1] != '\\') return hit;
        p = after;  // another value, or the quote is inside a string: not cut
    }
    return NULL;
}

/* 1: found cuts; 0: none, or a list that never closes (the caller's None); -1: out of memory. */
static int find_cuts(const char *raw, Py_ssize_t len, Cuts *c) {
    const char *p = raw, *stop = raw + len, *body, *hit;
    while ((hit = next_key(raw, p, stop, '[', &body)) != NULL) {
        const char *end = memchr(body, ']', (size_t)(stop - body));
        if (end == NULL) return 0;
        if (cuts_push(c, hit - raw, body - raw, end - raw) < 0) return -1;
        p = end;
    }
    return c->n > 0;
}

/* One thread's lists [k0, k1): each parsed into the shared run buffer from `run_base` on and
 * encoded straight away into the share's own text buffer; string_end[k] is where list k's
 * string ends in that buffer, run_off[k] where its runs start in the run buffer, and first /
 * end / pixels what decoding its string gives (bulk_rle.DecodedMasks; pixels -1: no runs). */
typedef struct {
    const unsigned char *raw;
    const Cuts *cuts;
    Py_ssize_t k0, k1;
    long long limit;
    int64_t *string_end;
    double *fg;
    uint32_t *runs;
    int64_t run_base, run_stop, text_size;
    int64_t *run_off, *first, *end, *pixels;
    char *text;
    int ok;  // 0: a body not in the layout; -1: out of memory
} ParseShare;

/* Upper bounds of a share's values (a number takes at least two bytes of text with its
 * separator) and of its encoded text (at most 6 characters a number). */
static int64_t share_values(const Cuts *c, Py_ssize_t k0, Py_ssize_t k1) {
    int64_t values = 0;
    for (Py_ssize_t k = k0; k < k1; k++) values += (c->end[k] - c->body[k]) / 2 + 1;
    return values;
}

/* The values lists [k0, k1) hold when they are in the layout: one more than their commas
 * (none for an empty list). parse_body never writes more (a value after the first follows a
 * comma), so the second share's runs can start right after the first's. */
static int64_t exact_values(const unsigned char *raw, const Cuts *c, Py_ssize_t k0,
                            Py_ssize_t k1) {
    int64_t values = 0;
    for (Py_ssize_t k = k0; k < k1; k++) {
        const unsigned char *p = raw + c->body[k], *e = raw + c->end[k];
        if (p == e) continue;
        values++;
#ifdef __SSE2__
        for (; e - p >= 16; p += 16) {
            const __m128i v = _mm_loadu_si128((const __m128i *)p);
            values += __builtin_popcount(
                (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8(','))));
        }
#endif
        for (; p < e; p++) values += *p == ',';
    }
    return values;
}

/* k's decimal digits into w (no terminator); their number. */
static Py_ssize_t write_decimal(char *w, Py_ssize_t k) {
    char digits[24];
    Py_ssize_t n = 0;
    do {
        digits[n++] = (char)('0' + k % 10);
        k /= 10;
    } while (k);
    for (Py_ssize_t i = 0; i < n; i++) w[i] = digits[n - 1 - i];
    return n;
}

static Py_ssize_t decimal_length(Py_ssize_t k) {
    Py_ssize_t n = 1;
    while (k >= 10) {
        k /= 10;
        n++;
    }
    return n;
}

/* The span of a list of runs (background first), as decode_impl measures it. */
static void span_of(const uint32_t *v, Py_ssize_t m, int64_t *first, int64_t *end,
                    int64_t *pixels) {
    uint64_t position = 0;
    int64_t f = -1, e = 0;
    for (Py_ssize_t i = 0; i < m; i++) {
        if ((i & 1) && v[i]) {
            if (f < 0) f = (int64_t)position;
            e = (int64_t)(position + v[i]);
        }
        position += v[i];
    }
    *first = f < 0 ? 0 : f;
    *end = e;
    *pixels = m ? (int64_t)position : -1;
}

static int parse_body(const unsigned char *p, const unsigned char *e, long long limit,
                      uint32_t *v, Py_ssize_t *m, uint32_t *odd_sum) {
    Py_ssize_t index = 0;
    while (p < e) {
        if (*p < '0' || *p > '9') return 0;  // an empty element, a sign, a space, a nested value
        const unsigned char *digits = p;
        int64_t x = 0;
        while (p < e && *p >= '0' && *p <= '9' && p - digits < 9) x = x * 10 + (*p++ - '0');
        const Py_ssize_t n_digits = p - digits;
        if (n_digits > 8 || (n_digits > 1 && digits[0] == '0') || x >= limit) return 0;
        v[(*m)++] = (uint32_t)x;
        if (index++ & 1) *odd_sum += (uint32_t)x;
        if (p == e) break;
        if (*p != ',') return 0;  // whitespace or another byte after a number
        p++;
        if (p < e && *p == ' ') p++;
        if (p == e) return 0;  // a trailing separator
    }
    return 1;
}

static void *parse_share(void *arg) {
    ParseShare *s = arg;
    s->text = malloc((size_t)s->text_size);
    if (s->text == NULL) {
        s->ok = -1;
        return NULL;
    }
    int64_t at = 0, run = s->run_base;
    for (Py_ssize_t k = s->k0; k < s->k1; k++) {
        uint32_t odd_sum = 0;
        Py_ssize_t m = 0;
        uint32_t *v = s->runs + run;
        const unsigned char *p = s->raw + s->cuts->body[k], *e = s->raw + s->cuts->end[k];
        if (!parse_body(p, e, s->limit, v, &m, &odd_sum)) {
            s->ok = 0;
            return NULL;
        }
        s->fg[k] = (double)odd_sum;
        span_of(v, m, &s->first[k], &s->end[k], &s->pixels[k]);
        s->run_off[k] = run;
        run += m;
        at += encode_one(v, m, s->text + at);
        s->string_end[k] = at;
    }
    s->run_stop = run;
    return NULL;
}

/* Split lists [0, n) into two shares of about equal text. */
static Py_ssize_t halfway(const Cuts *c) {
    int64_t total = 0, seen = 0;
    for (Py_ssize_t k = 0; k < c->n; k++) total += c->end[k] - c->body[k];
    for (Py_ssize_t k = 0; k < c->n; k++) {
        if (2 * seen >= total && k > 0) return k;
        seen += c->end[k] - c->body[k];
    }
    return c->n;
}

/* Every list's string as its own bytes object, in document order. */
static PyObject *strings_of(const ParseShare *shares, Py_ssize_t n) {
    PyObject *out = PyList_New(n);
    if (out == NULL) return NULL;
    for (int t = 0; t < 2; t++) {
        int64_t start = 0;
        for (Py_ssize_t k = shares[t].k0; k < shares[t].k1; k++) {
            const int64_t end = shares[t].string_end[k];
            PyObject *one = PyBytes_FromStringAndSize(shares[t].text + start, end - start);
            if (one == NULL) {
                Py_DECREF(out);
                return NULL;
            }
            PyList_SET_ITEM(out, k, one);
            start = end;
        }
    }
    return out;
}

/* A bytes copy of n int64 values. */
static PyObject *int64_bytes(const int64_t *v, Py_ssize_t n) {
    return PyBytes_FromStringAndSize((const char *)v, n * (Py_ssize_t)sizeof(int64_t));
}

/* The document with every cut replaced by its marker, into a new bytes object. */
static PyObject *remainder_of(const char *raw, Py_ssize_t len, const Cuts *c) {
    Py_ssize_t size = len;
    for (Py_ssize_t k = 0; k < c->n; k++) {
        size -= c->end[k] + 1 - c->at[k];
        size += (Py_ssize_t)sizeof(MARKER) - 1 + decimal_length(k);
    }
    PyObject *out = bytes_of_size(size);
    if (out == NULL) return NULL;
    char *w = PyBytes_AS_STRING(out);
    Py_BEGIN_ALLOW_THREADS;
    int64_t from = 0;
    for (Py_ssize_t k = 0; k < c->n; k++) {
        memcpy(w, raw + from, (size_t)(c->at[k] - from));
        w += c->at[k] - from;
        memcpy(w, MARKER, sizeof(MARKER) - 1);
        w += sizeof(MARKER) - 1;
        w += write_decimal(w, k);
        from = c->end[k] + 1;
    }
    memcpy(w, raw + from, (size_t)(len - from));
    Py_END_ALLOW_THREADS;
    return out;
}

/* A finder's answer (find_cuts, find_strings): 1 when there are cuts to make; else 0, with
   `*result` None (nothing to cut: the caller parses the text whole) or a MemoryError raised. */
static int cuts_found(int found, PyObject **result) {
    if (found < 0) {
        PyErr_NoMemory();
        return 0;
    }
    if (found == 0) {
        *result = Py_NewRef(Py_None);
        return 0;
    }
    return 1;
}

PyObject *cut_count_lists(PyObject *self, PyObject *args) {
    Py_buffer buf;
    long long limit;
    if (!PyArg_ParseTuple(args, "y*L", &buf, &limit)) return NULL;
    const char *raw = buf.buf;
    Cuts cuts = {0};
    PyObject *result = NULL, *remainder = NULL, *foreground = NULL, *strings = NULL;
    PyObject *body_starts = NULL, *body_ends = NULL, *runs = NULL, *run_off = NULL;
    PyObject *first = NULL, *end = NULL, *pixels = NULL;
    ParseShare shares[2] = {{0}, {0}};
    int64_t *string_end = NULL;
    int found;
    Py_BEGIN_ALLOW_THREADS;
    found = find_cuts(raw, buf.len, &cuts);
    Py_END_ALLOW_THREADS;
    if (!cuts_found(found, &result)) goto done;
    const Py_ssize_t n = cuts.n, half = halfway(&cuts);
    const int64_t values0 = share_values(&cuts, 0, half), values1 = share_values(&cuts, half, n);
    foreground = bytes_of_size(n * (Py_ssize_t)sizeof(double));
    runs = bytes_of_size((Py_ssize_t)(values0 + values1) * (Py_ssize_t)sizeof(uint32_t));
    run_off = bytes_of_size((n + 1) * (Py_ssize_t)sizeof(int64_t));
    first = bytes_of_size(n * (Py_ssize_t)sizeof(int64_t));
    end = bytes_of_size(n * (Py_ssize_t)sizeof(int64_t));
    pixels = bytes_of_size(n * (Py_ssize_t)sizeof(int64_t));
    string_end = malloc((size_t)n * sizeof(int64_t));
    if (!foreground || !runs || !run_off || !first || !end || !pixels || !string_end) {
        if (string_end == NULL) PyErr_NoMemory();
        goto done;
    }
    double *fg = (double *)PyBytes_AS_STRING(foreground);
    uint32_t *run_v = (uint32_t *)PyBytes_AS_STRING(runs);
    int64_t *off_v = (int64_t *)PyBytes_AS_STRING(run_off);
    for (int t = 0; t < 2; t++) {
        shares[t] = (ParseShare){
            .raw = (const unsigned char *)raw,
            .cuts = &cuts,
            .k0 = t ? half : 0,
            .k1 = t ? n : half,
            .limit = limit,
            .string_end = string_end,
            .fg = fg,
            .runs = run_v,
            .run_base = t ? values0 : 0,
            .text_size = 6 * (t ? values1 : values0) + 1,
            .run_off = off_v,
            .first = (int64_t *)PyBytes_AS_STRING(first),
            .end = (int64_t *)PyBytes_AS_STRING(end),
            .pixels = (int64_t *)PyBytes_AS_STRING(pixels),
            .ok = 1,
        };
    }
    Py_BEGIN_ALLOW_THREADS;
    // The helper parses the first share from run 0 while this thread counts that share's
    // values, so that the second share's runs follow the first's directly (no gap to close).
    pthread_t helper;
    const int spawned = pthread_create(&helper, NULL, parse_share, &shares[0]) == 0;
    const int64_t first_values = exact_values((const unsigned char *)raw, &cuts, 0, half);
    shares[1].run_base = first_values;
    if (!spawned) parse_share(&shares[0]);
    parse_share(&shares[1]);
    if (spawned) pthread_join(helper, NULL);
    if (shares[0].ok > 0 && shares[0].run_stop != first_values) shares[0].ok = 0;  // not sure
    off_v[n] = shares[1].run_stop;
    Py_END_ALLOW_THREADS;
    if (shares[0].ok < 0 || shares[1].ok < 0) {
        PyErr_NoMemory();
        goto done;
    }
    if (!shares[0].ok || !shares[1].ok) {
        result = Py_NewRef(Py_False);
        goto done;
    }
    strings = strings_of(shares, n);
    body_starts = int64_bytes(cuts.body, n);
    body_ends = int64_bytes(cuts.end, n);
    if (strings == NULL || body_starts == NULL || body_ends == NULL) goto done;
    remainder = remainder_of(raw, buf.len, &cuts);
    if (remainder == NULL) goto done;
    result = Py_BuildValue("NNNNNnNNNNN", remainder, body_starts, body_ends, foreground, strings, n,
                           runs, run_off, first, end, pixels);
    // owned by result
    remainder = body_starts = body_ends = foreground = strings = NULL;
    runs = run_off = first = end = pixels = NULL;
done:
    Py_XDECREF(remainder);
    Py_XDECREF(body_starts);
    Py_XDECREF(body_ends);
    Py_XDECREF(foreground);
    Py_XDECREF(strings);
    Py_XDECREF(runs);
    Py_XDECREF(run_off);
    Py_XDECREF(first);
    Py_XDECREF(end);
    Py_XDECREF(pixels);
    for (int t = 0; t < 2; t++) free(shares[t].text);
    free(string_end);
    cuts_free(&cuts);
    PyBuffer_Release(&buf);
    return result;
}


/* ---- Results files: the compressed mask strings -------------------------------------------
 *
 * cut_result_strings(raw) -> None or (remainder, starts, ends, n)
 *
 * Every `"counts":"` or `"counts": "` (not at offset 0, its quote not after a backslash) starts
 * a cut through the string's closing quote; the remainder is `raw` with cut k replaced by
 * `"\u0000":k`, and raw[starts[k]:ends[k]] is string k's text (int64 [n] bytes). The text may
 * hold the format's characters 48..111 only, its backslash escaped as JSON does (all a COCO
 * mask string needs); None when there is no cut or any string holds something else, which the
 * caller then leaves to the ordinary parser. */
/* The closing quote of a mask string's text starting at `q`, or NULL when the text holds a
 * byte outside the format's characters 48..111 (a backslash only as the escape `\\\\`) or
 * never closes. Sixteen plain characters at a time where SSE2 is there. */
static const char *mask_string_end(const char *q, const char *stop) {
    for (;;) {
#ifdef __SSE2__
        while (stop - q >= 16) {
            const __m128i v = _mm_loadu_si128((const __m128i *)q);
            const __m128i shifted = _mm_sub_epi8(v, _mm_set1_epi8(48));
            const __m128i outside = _mm_and_si128(shifted, _mm_set1_epi8((char)0xC0));
            const int plain = _mm_movemask_epi8(_mm_cmpeq_epi8(outside, _mm_setzero_si128()));
            const int slash = _mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8('\\')));
            if (plain != 0xFFFF || slash) break;
            q += 16;
        }
#endif
        if (q >= stop) return NULL;
        const unsigned b = (unsigned char)*q;
        if (b == '"') return q;
        if (b - 48u > 63u) return NULL;
        if (b == '\\') {
            if (q + 1 >= stop || q[1] != '\\') return NULL;  // another escape: not sure
            q++;
        }
        q++;
    }
}

static int find_strings(const char *raw, Py_ssize_t len, Cuts *c) {
    const char *p = raw, *stop = raw + len, *body, *hit;
    while ((hit = next_key(raw, p, stop, '"', &body)) != NULL) {
        const char *q = mask_string_end(body, stop);
        if (q == NULL) return 0;  // a byte no mask string holds, or no closing quote
        if (cuts_push(c, hit - raw, body - raw, q - raw) < 0) return -1;
        p = q + 1;
    }
    return c->n > 0;
}

PyObject *cut_result_strings(PyObject *self, PyObject *arg) {
    Py_buffer buf;
    if (PyObject_GetBuffer(arg, &buf, PyBUF_SIMPLE) < 0) return NULL;
    Cuts cuts = {0};
    PyObject *result = NULL, *remainder = NULL, *starts = NULL, *ends = NULL;
    int found;
    Py_BEGIN_ALLOW_THREADS;
    found = find_strings(buf.buf, buf.len, &cuts);
    Py_END_ALLOW_THREADS;
    if (!cuts_found(found, &result)) goto done;
    starts = int64_bytes(cuts.body, cuts.n);
    ends = int64_bytes(cuts.end, cuts.n);
    if (starts == NULL || ends == NULL) goto done;
    remainder = remainder_of(buf.buf, buf.len, &cuts);
    if (remainder == NULL) goto done;
    result = Py_BuildValue("NNNn", remainder, starts, ends, cuts.n);
    remainder = starts = ends = NULL;  // owned by result
done:
    Py_XDECREF(remainder);
    Py_XDECREF(starts);
    Py_XDECREF(ends);
    cuts_free(&cuts);
    PyBuffer_Release(&buf);
    return result;
}
