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
    PyObject *data_obj, *start_obj, *n_entries_obj, *pkg_first_obj, *pkg_funcs_obj,
        *func_units_obj, *totals_obj, *executed_obj;
    if (!PyArg_ParseTuple(args, "OOOOOOOO", &data_obj, &start_obj, &n_entries_obj,
                          &pkg_first_obj, &pkg_funcs_obj, &func_units_obj, &totals_obj,
                          &executed_obj))
        return NULL;
    /* a header may announce any number of records: clipped, it is simply too many */
    Py_ssize_t start = PyNumber_AsSsize_t(start_obj, NULL);
    Py_ssize_t n_entries = PyNumber_AsSsize_t(n_entries_obj, NULL);
    if ((start == -1 || n_entries == -1) && PyErr_Occurred())
        return NULL;
    Py_buffer data, pkg_first, pkg_funcs, func_units, totals, executed;
    int got = 0;
    PyObject *result = NULL;
    if (PyObject_GetBuffer(data_obj, &data, PyBUF_SIMPLE) < 0)
        return NULL;
    got++;
    if (!get_array(pkg_first_obj, &pkg_first, 0, 8, "qlQL", "pkg_first"))
        goto done;
    got++;
    if (!get_array(pkg_funcs_obj, &pkg_funcs, 0, 8, "qlQL", "pkg_funcs"))
        goto done;
    got++;
    if (!get_array(func_units_obj, &func_units, 0, 8, "qlQL", "func_units"))
        goto done;
    got++;
    if (!get_array(totals_obj, &totals, 1, 8, "QL", "totals"))
        goto done;
    got++;
    if (!get_array(executed_obj, &executed, 1, 1, "?Bbc", "executed"))
        goto done;
    got++;

    const uint8_t *bytes = data.buf;
    const Py_ssize_t len = data.len;
    const int64_t *first = pkg_first.buf, *nfuncs = pkg_funcs.buf, *slots = func_units.buf;
    const Py_ssize_t n_pkgs = pkg_first.len / 8, n_funcs = executed.len;
    const Py_ssize_t n_units = totals.len / 8;
    if (pkg_funcs.len / 8 != n_pkgs || func_units.len / 8 != n_funcs + 1) {
        PyErr_SetString(PyExc_TypeError, "inconsistent function tables");
        goto done;
    }
    for (Py_ssize_t p = 0; p < n_pkgs; p++)
        if (first[p] < 0 || nfuncs[p] < 0 || first[p] + nfuncs[p] > n_funcs) {
            PyErr_SetString(PyExc_TypeError, "a package's functions are outside func_units");
            goto done;
        }
    for (Py_ssize_t f = 0; f < n_funcs; f++)
        if (slots[f] < 0 || slots[f] > slots[f + 1] || slots[f + 1] > n_units) {
            PyErr_SetString(PyExc_TypeError, "a function's units are outside totals");
            goto done;
        }
    if (start < 0 || n_entries < 0 || start > len) {
        irregular("records outside the data");
        goto done;
    }
    /* First pass: check every record; nothing is changed unless all are regular. */
    Py_ssize_t pos = start;
    for (Py_ssize_t r = 0; r < n_entries; r++) {
        uint32_t n, pkg, fn, value;
        if (!read_u32(bytes, len, &pos, &n) || !read_u32(bytes, len, &pos, &pkg)
            || !read_u32(bytes, len, &pos, &fn) || pkg >= n_pkgs || fn >= nfuncs[pkg]) {
            irregular("a record of an unknown function");
            goto done;
        }
        Py_ssize_t func = first[pkg] + fn;
        if (n == 0 || (int64_t)n != slots[func + 1] - slots[func]) {
            irregular("a record with other than one counter per unit");
            goto done;
        }
        for (uint32_t k = 0; k < n; k++)
            if (!read_u32(bytes, len, &pos, &value)) {
                irregular("a counter past 32 bits or past the data");
                goto done;
            }
    }
    /* Second pass: add. */
    uint64_t *sums = totals.buf;
    uint8_t *ran = executed.buf;
    pos = start;
    for (Py_ssize_t r = 0; r < n_entries; r++) {
        uint32_t n, pkg, fn, value;
        read_u32(bytes, len, &pos, &n);
        read_u32(bytes, len, &pos, &pkg);
        read_u32(bytes, len, &pos, &fn);
        Py_ssize_t func = first[pkg] + fn;
        ran[func] = 1;
        uint64_t *slot = sums + slots[func];
        for (uint32_t k = 0; k < n; k++) {
            uint8_t byte = bytes[pos];
            if (byte < 0x80) {
                value = byte;
                pos++;
            }
            else
                read_u32(bytes, len, &pos, &value);
            uint64_t sum = slot[k] + value;
            slot[k] = sum < value ? UINT64_MAX : sum;
        }
    }
    result = Py_NewRef(Py_None);
done:
    if (got > 5)
        PyBuffer_Release(&executed);
    if (got > 4)
        PyBuffer_Release(&totals);
    if (got > 3)
        PyBuffer_Release(&func_units);
    if (got > 2)
        PyBuffer_Release(&pkg_funcs);
    if (got > 1)
        PyBuffer_Release(&pkg_first);
    PyBuffer_Release(&data);
    return result;
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

static PyMethodDef methods[] = {
    {"decode_functions", decode_functions, METH_VARARGS, decode_functions_doc},
    {"merge_records", merge_records, METH_VARARGS, merge_records_doc},
    {"encode_uvarints", encode_uvarints, METH_O, encode_uvarints_doc},
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
