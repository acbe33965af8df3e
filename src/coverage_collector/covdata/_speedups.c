/*
 * The loops of `covdata` that plain Python runs too slowly on big data: decoding a
 * meta-data file's function records, merging counter files into per-unit sums, and
 * encoding the merged counters.
 *
 * Optional, like coverage.py's C tracer: `speedups.py` imports this module when it was
 * built, and every caller has a Python path that gives the same result. The decoders
 * take only the regular shape Go writes and raise ValueError (having changed nothing) on
 * anything else, so the caller's exact path names the defect as covdata does.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define BLOB_HEADER_SIZE 44
#define UNIT_FIELDS 5
#define SMALL_FUNCTION 48 /* units compared pairwise; larger functions are sorted */

/* Read one ULEB128 value at *pos (low 64 bits kept, as uleb.read does); 0 past the end. */
static int
read_uleb(const uint8_t *data, Py_ssize_t len, Py_ssize_t *pos, uint64_t *out)
{
    uint64_t value = 0;
    unsigned shift = 0;
    Py_ssize_t at = *pos;
    for (;;) {
        if (at >= len)
            return 0;
        uint8_t byte = data[at++];
        if (shift < 64)
            value |= (uint64_t)(byte & 0x7F) << shift;
        if (byte < 0x80)
            break;
        shift += 7;
    }
    *pos = at;
    *out = value;
    return 1;
}

/* Read a value that must fit in 32 bits. */
static int
read_u32(const uint8_t *data, Py_ssize_t len, Py_ssize_t *pos, uint32_t *out)
{
    uint64_t value;
    if (!read_uleb(data, len, pos, &value) || value > 0xFFFFFFFFu)
        return 0;
    *out = (uint32_t)value;
    return 1;
}

static int
compare_units(const void *a, const void *b)
{
    return memcmp(a, b, UNIT_FIELDS * sizeof(uint32_t));
}

/* Whether two of the `n` units (UNIT_FIELDS values each) at `units` are the same. */
static int
has_duplicate(const uint32_t *units, Py_ssize_t n)
{
    const size_t size = UNIT_FIELDS * sizeof(uint32_t);
    if (n <= SMALL_FUNCTION) {
        for (Py_ssize_t i = 0; i < n; i++)
            for (Py_ssize_t j = i + 1; j < n; j++)
                if (!memcmp(units + UNIT_FIELDS * i, units + UNIT_FIELDS * j, size))
                    return 1;
        return 0;
    }
    uint32_t *copy = malloc(n * size);
    if (copy == NULL)
        return -1;
    memcpy(copy, units, n * size);
    qsort(copy, n, size, compare_units);
    int found = 0;
    for (Py_ssize_t i = 1; i < n && !found; i++)
        found = !memcmp(copy + UNIT_FIELDS * (i - 1), copy + UNIT_FIELDS * i, size);
    free(copy);
    return found;
}

static PyObject *
irregular(const char *what)
{
    PyErr_SetString(PyExc_ValueError, what);
    return NULL;
}

PyDoc_STRVAR(decode_functions_doc,
"decode_functions(blob, records_start, num_funcs, declared_len)\n"
"-> (functions, units, has_duplicates)\n\n"
"Decode a package blob's function records, which must follow its string table back to\n"
"back (each at the offset its table gives) and end within `declared_len` and the blob.\n"
"`functions` holds (units, name index, file index, literal) per function; `units` is the\n"
"bytes of 5 native uint32 per unit (line, column, end line, end column, statements);\n"
"`has_duplicates` tells whether one function lists the same unit twice.");

static PyObject *
decode_functions(PyObject *self, PyObject *args)
{
    Py_buffer blob;
    Py_ssize_t start, num_funcs, declared_len;
    if (!PyArg_ParseTuple(args, "y*nnn", &blob, &start, &num_funcs, &declared_len))
        return NULL;
    const uint8_t *data = blob.buf;
    const Py_ssize_t len = blob.len;
    PyObject *functions = NULL, *units = NULL, *result = NULL;
    uint32_t *flat = NULL;
    Py_ssize_t n_flat = 0, capacity = 0, pos = start;
    int duplicates = 0;
    if (num_funcs < 0 || start < 0 || BLOB_HEADER_SIZE + 4 * num_funcs > len) {
        irregular("function table outside the blob");
        goto done;
    }
    functions = PyList_New(num_funcs);
    if (functions == NULL)
        goto done;
    for (Py_ssize_t f = 0; f < num_funcs; f++) {
        const uint8_t *entry = data + BLOB_HEADER_SIZE + 4 * f;
        uint32_t offset = entry[0] | entry[1] << 8 | entry[2] << 16 | (uint32_t)entry[3] << 24;
        uint32_t n_units, name, file, literal;
        if ((Py_ssize_t)offset != pos || !read_u32(data, len, &pos, &n_units)
            || !read_u32(data, len, &pos, &name) || !read_u32(data, len, &pos, &file)
            || n_units > (uint32_t)(len - pos)) {
            irregular("irregular function record");
            goto done;
        }
        if (n_flat + UNIT_FIELDS * (Py_ssize_t)n_units > capacity) {
            Py_ssize_t wanted = 2 * capacity + UNIT_FIELDS * (Py_ssize_t)n_units + 1024;
            uint32_t *grown = realloc(flat, wanted * sizeof(uint32_t));
            if (grown == NULL) {
                PyErr_NoMemory();
                goto done;
            }
            flat = grown;
            capacity = wanted;
        }
        uint32_t *first = flat + n_flat;
        for (Py_ssize_t k = 0; k < UNIT_FIELDS * (Py_ssize_t)n_units; k++)
            if (!read_u32(data, len, &pos, flat + n_flat++)) {
                irregular("irregular unit");
                goto done;
            }
        if (!read_u32(data, len, &pos, &literal)) {
            irregular("irregular function record");
            goto done;
        }
        if (!duplicates) {
            duplicates = has_duplicate(first, n_units);
            if (duplicates < 0) {
                PyErr_NoMemory();
                goto done;
            }
        }
        PyObject *record = Py_BuildValue("(IIIO)", n_units, name, file,
                                         literal ? Py_True : Py_False);
        if (record == NULL)
            goto done;
        PyList_SET_ITEM(functions, f, record);
    }
    if (pos > declared_len || pos > len) {
        irregular("function records run past the blob");
        goto done;
    }
    units = PyBytes_FromStringAndSize((const char *)flat, n_flat * sizeof(uint32_t));
    if (units != NULL)
        result = Py_BuildValue("(OOO)", functions, units, duplicates ? Py_True : Py_False);
done:
    free(flat);
    Py_XDECREF(functions);
    Py_XDECREF(units);
    PyBuffer_Release(&blob);
    return result;
}

/* Get a C-contiguous buffer of `itemsize`-byte items whose format is one of `kinds`. */
static int
get_array(PyObject *obj, Py_buffer *view, int writable, Py_ssize_t itemsize, const char *kinds,
          const char *name)
{
    int flags = PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (writable ? PyBUF_WRITABLE : 0);
    if (PyObject_GetBuffer(obj, view, flags) < 0)
        return 0;
    const char *format = view->format ? view->format : "B";
    if (*format == '<' || *format == '=' || *format == '@')
        format++;
    if (view->itemsize != itemsize || strlen(format) != 1 || !strchr(kinds, *format)) {
        PyErr_Format(PyExc_TypeError, "%s: expected %zd-byte items of kind %s, got '%s'",
                     name, itemsize, kinds, view->format ? view->format : "B");
        PyBuffer_Release(view);
        return 0;
    }
    return 1;
}

/* One counter file's function records with the tables that place them, once checked. */
typedef struct {
    Py_buffer views[7]; /* data, pkg_first, pkg_funcs, func_units, totals, functions, seen */
    int held;           /* views acquired so far, released in reverse */
    const uint8_t *bytes;
    Py_ssize_t len, start, n_entries, n_funcs;
    const int64_t *first, *nfuncs, *slots;
} Records;

static void
release_records(Records *rec)
{
    while (rec->held > 0)
        PyBuffer_Release(&rec->views[--rec->held]);
}

static int
hold_array(Records *rec, PyObject *obj, int writable, Py_ssize_t itemsize, const char *kinds,
           const char *name)
{
    if (!get_array(obj, &rec->views[rec->held], writable, itemsize, kinds, name))
        return 0;
    rec->held++;
    return 1;
}

/* Take the arguments (data, start, n_entries, pkg_first, pkg_funcs, func_units, totals,
 * functions[, seen]), check the tables against each other, then every record: a known
 * function, one counter per unit (at least one), values within 32 bits, nothing past the
 * data. Return 1, or 0 with an exception set (ValueError for irregular records). */
static int
check_records(Records *rec, PyObject *args, int with_seen)
{
    PyObject *o[9] = {NULL};
    rec->held = 0;
    if (!PyArg_UnpackTuple(args, "records", 8 + with_seen, 8 + with_seen, &o[0], &o[1], &o[2],
                           &o[3], &o[4], &o[5], &o[6], &o[7], &o[8]))
        return 0;
    rec->start = PyNumber_AsSsize_t(o[1], NULL); /* a lying count, clipped, is too many */
    rec->n_entries = PyNumber_AsSsize_t(o[2], NULL);
    if ((rec->start == -1 || rec->n_entries == -1) && PyErr_Occurred())
        return 0;
    if (PyObject_GetBuffer(o[0], &rec->views[0], PyBUF_SIMPLE) < 0)
        return 0;
    rec->held = 1;
    if (!hold_array(rec, o[3], 0, 8, "qlQL", "pkg_first")
        || !hold_array(rec, o[4], 0, 8, "qlQL", "pkg_funcs")
        || !hold_array(rec, o[5], 0, 8, "qlQL", "func_units")
        || !hold_array(rec, o[6], 1, 8, "QL", "totals")
        || !hold_array(rec, o[7], 1, 1, "?Bbc", "functions")
        || (with_seen && !hold_array(rec, o[8], 1, 1, "?Bbc", "seen")))
        return 0;
    rec->bytes = rec->views[0].buf;
    rec->len = rec->views[0].len;
    rec->first = rec->views[1].buf;
    rec->nfuncs = rec->views[2].buf;
    rec->slots = rec->views[3].buf;
    rec->n_funcs = rec->views[5].len;
    const Py_ssize_t n_pkgs = rec->views[1].len / 8, n_units = rec->views[4].len / 8;
    if (rec->views[2].len / 8 != n_pkgs || rec->views[3].len / 8 != rec->n_funcs + 1
        || (with_seen && rec->views[6].len != rec->n_funcs)) {
        PyErr_SetString(PyExc_TypeError, "inconsistent function tables");
        return 0;
    }
    for (Py_ssize_t p = 0; p < n_pkgs; p++)
        if (rec->first[p] < 0 || rec->nfuncs[p] < 0
            || rec->first[p] + rec->nfuncs[p] > rec->n_funcs) {
            PyErr_SetString(PyExc_TypeError, "a package's functions are outside func_units");
            return 0;
        }
    for (Py_ssize_t f = 0; f < rec->n_funcs; f++)
        if (rec->slots[f] < 0 || rec->slots[f] > rec->slots[f + 1]
            || rec->slots[f + 1] > n_units) {
            PyErr_SetString(PyExc_TypeError, "a function's units are outside totals");
            return 0;
        }
    if (rec->start < 0 || rec->n_entries < 0 || rec->start > rec->len) {
        irregular("records outside the data");
        return 0;
    }
    Py_ssize_t pos = rec->start;
    for (Py_ssize_t r = 0; r < rec->n_entries; r++) {
        uint32_t n, pkg, fn, value;
        if (!read_u32(rec->bytes, rec->len, &pos, &n)
            || !read_u32(rec->bytes, rec->len, &pos, &pkg)
            || !read_u32(rec->bytes, rec->len, &pos, &fn) || pkg >= n_pkgs
            || fn >= rec->nfuncs[pkg]) {
            irregular("a record of an unknown function");
            return 0;
        }
        Py_ssize_t func = rec->first[pkg] + fn;
        if (n == 0 || (int64_t)n != rec->slots[func + 1] - rec->slots[func]) {
            irregular("a record with other than one counter per unit");
            return 0;
        }
        for (uint32_t k = 0; k < n; k++)
            if (!read_u32(rec->bytes, rec->len, &pos, &value)) {
                irregular("a counter past 32 bits or past the data");
                return 0;
            }
    }
    return 1;
}

/* Read the header of the next (checked) record at *pos; return its function. */
static Py_ssize_t
next_record(const Records *rec, Py_ssize_t *pos, uint32_t *n)
{
    uint32_t pkg, fn;
    read_u32(rec->bytes, rec->len, pos, n);
    read_u32(rec->bytes, rec->len, pos, &pkg);
    read_u32(rec->bytes, rec->len, pos, &fn);
    return rec->first[pkg] + fn;
}

/* Read the next (checked) counter at *pos. */
static inline uint32_t
next_counter(const Records *rec, Py_ssize_t *pos)
{
    uint8_t byte = rec->bytes[*pos];
    if (byte < 0x80) {
        (*pos)++;
        return byte;
    }
    uint32_t value;
    read_u32(rec->bytes, rec->len, pos, &value);
    return value;
}

PyDoc_STRVAR(merge_records_doc,
"merge_records(data, start, n_entries, pkg_first, pkg_funcs, func_units, totals, executed)\n\n"
"Add the counters of the `n_entries` ULEB128 function records at `data[start:]` to\n"
"`totals` (uint64 per unit, saturating at 2**64 - 1) and mark each record's function in\n"
"`executed` (one byte per function). `pkg_first` and `pkg_funcs` (int64 per package) give\n"
"each package's first function and number of functions, `func_units` (int64, one more\n"
"than functions) each function's first unit. The records are checked before anything is\n"
"added: a record of an unknown function, with other than one counter per unit (or none),\n"
"with a value past 32 bits or running past the data raises ValueError and changes nothing.");

static PyObject *
merge_records(PyObject *self, PyObject *args)
{
    Records rec;
    if (!check_records(&rec, args, 0)) {
        release_records(&rec);
        return NULL;
    }
    uint64_t *sums = rec.views[4].buf;
    uint8_t *ran = rec.views[5].buf;
    Py_ssize_t pos = rec.start;
    for (Py_ssize_t r = 0; r < rec.n_entries; r++) {
        uint32_t n;
        Py_ssize_t func = next_record(&rec, &pos, &n);
        ran[func] = 1;
        uint64_t *slot = sums + rec.slots[func];
        for (uint32_t k = 0; k < n; k++) {
            uint32_t value = next_counter(&rec, &pos);
            uint64_t sum = slot[k] + value;
            slot[k] = sum < value ? UINT64_MAX : sum;
        }
    }
    release_records(&rec);
    Py_RETURN_NONE;
}

PyDoc_STRVAR(filter_records_doc,
"filter_records(data, start, n_entries, pkg_first, pkg_funcs, func_units, totals, kept,\n"
"               seen, zero_executed)\n\n"
"Apply one counter file of a later input to the result of `covdata subtract` (zero_executed\n"
"true: zero each unit the file counted) or `intersect` (false: zero each unit it did not\n"
"count), for the records of functions still marked in `kept`; mark those functions in\n"
"`seen`. Arguments and checks as `merge_records`, and two records of one function are\n"
"irregular too: irregular records change nothing.");

static PyObject *
filter_records(PyObject *self, PyObject *args)
{
    Records rec;
    Py_ssize_t n_args = PyTuple_GET_SIZE(args);
    if (n_args != 10) {
        PyErr_SetString(PyExc_TypeError, "filter_records takes 10 arguments");
        return NULL;
    }
    int zero_executed = PyObject_IsTrue(PyTuple_GET_ITEM(args, 9));
    if (zero_executed < 0)
        return NULL;
    PyObject *head = PyTuple_GetSlice(args, 0, 9);
    if (head == NULL)
        return NULL;
    int checked = check_records(&rec, head, 1);
    Py_DECREF(head);
    if (!checked) {
        release_records(&rec);
        return NULL;
    }
    /* Two records of one function would be judged one by one, not on their sum: covdata's
     * exact path takes such a file (Go writes a function once per file). */
    uint8_t *listed = calloc(rec.n_funcs ? rec.n_funcs : 1, 1);
    if (listed == NULL) {
        release_records(&rec);
        return PyErr_NoMemory();
    }
    Py_ssize_t pos = rec.start;
    for (Py_ssize_t r = 0; r < rec.n_entries; r++) {
        uint32_t n;
        Py_ssize_t func = next_record(&rec, &pos, &n);
        if (listed[func]++) {
            free(listed);
            release_records(&rec);
            return irregular("two records of one function");
        }
        for (uint32_t k = 0; k < n; k++)
            next_counter(&rec, &pos);
    }
    free(listed);
    uint64_t *totals = rec.views[4].buf;
    const uint8_t *kept = rec.views[5].buf;
    uint8_t *seen = rec.views[6].buf;
    pos = rec.start;
    for (Py_ssize_t r = 0; r < rec.n_entries; r++) {
        uint32_t n;
        Py_ssize_t func = next_record(&rec, &pos, &n);
        uint64_t *slot = totals + rec.slots[func];
        int live = kept[func] != 0;
        seen[func] |= live;
        for (uint32_t k = 0; k < n; k++) {
            uint32_t value = next_counter(&rec, &pos);
            if (live && (value != 0) == zero_executed)
                slot[k] = 0;
        }
    }
    release_records(&rec);
    Py_RETURN_NONE;
}

PyDoc_STRVAR(encode_uvarints_doc,
"encode_uvarints(values) -> bytes\n\n"
"Return the minimal ULEB128 encodings of `values` (a buffer of uint64), one after the\n"
"other, as Go's counter writer produces them.");

static PyObject *
encode_uvarints(PyObject *self, PyObject *arg)
{
    Py_buffer view;
    if (!get_array(arg, &view, 0, 8, "QL", "values"))
        return NULL;
    const uint64_t *values = view.buf;
    const Py_ssize_t n = view.len / 8;
    PyObject *out = PyBytes_FromStringAndSize(NULL, n * 10);
    if (out != NULL) {
        uint8_t *at = (uint8_t *)PyBytes_AS_STRING(out);
        for (Py_ssize_t i = 0; i < n; i++) {
            uint64_t value = values[i];
            while (value >= 0x80) {
                *at++ = (uint8_t)(value | 0x80);
                value >>= 7;
            }
            *at++ = (uint8_t)value;
        }
        _PyBytes_Resize(&out, at - (uint8_t *)PyBytes_AS_STRING(out));
    }
    PyBuffer_Release(&view);
    return out;
}

#if defined(__SIZEOF_INT128__)
PyDoc_STRVAR(fnv128a_doc,
"fnv128a(data) -> bytes\n\n"
"Return the 16-byte big-endian FNV-1a-128 digest of `data` (Go's hash/fnv.New128a, the\n"
"coverage hash of Go 1.24 and later).");

static PyObject *
fnv128a(PyObject *self, PyObject *arg)
{
    Py_buffer view;
    if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) < 0)
        return NULL;
    const unsigned __int128 prime = ((unsigned __int128)1 << 88) + 0x13B;
    unsigned __int128 value = ((unsigned __int128)0x6C62272E07BB0142u << 64) | 0x62B821756295C58Du;
    const uint8_t *bytes = view.buf;
    for (Py_ssize_t i = 0; i < view.len; i++) {
        value ^= bytes[i];
        value *= prime;
    }
    PyBuffer_Release(&view);
    uint8_t digest[16];
    for (int i = 15; i >= 0; i--) {
        digest[i] = (uint8_t)value;
        value >>= 8;
    }
    return PyBytes_FromStringAndSize((const char *)digest, 16);
}
#endif

static PyMethodDef methods[] = {
    {"decode_functions", decode_functions, METH_VARARGS, decode_functions_doc},
    {"merge_records", merge_records, METH_VARARGS, merge_records_doc},
    {"filter_records", filter_records, METH_VARARGS, filter_records_doc},
    {"encode_uvarints", encode_uvarints, METH_O, encode_uvarints_doc},
#if defined(__SIZEOF_INT128__)
    {"fnv128a", fnv128a, METH_O, fnv128a_doc},
#endif
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    "coverage_collector.covdata._speedups",
    "Compiled loops of covdata (optional; see speedups.py).",
    -1,
    methods,
};

PyMODINIT_FUNC
PyInit__speedups(void)
{
    return PyModule_Create(&module);
}
