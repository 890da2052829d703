/*
 * smoltrace.collector._fastotlp -- a C decoder for OTLP trace export requests.
 *
 * What it does
 * ------------
 * decode_traces(body) walks the protobuf wire format of
 * opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest directly (no protobuf library, no
 * Python object per span or attribute) and returns the columns of the store's otel_traces table as raw
 * Arrow buffers: int64 buffers for timestamps/durations, (int32 offsets, UTF-8 data) buffer pairs for
 * string columns, int32 list offsets for Events/Links.  decode.py wraps them with
 * pyarrow.*.from_buffers, which copies nothing, into exactly the table its Python path builds
 * (_trace_table).  Attribute JSON is written in C with the type mapping of attributes.py.
 *
 * How it falls back
 * -----------------
 * The Python decoder (protobuf/upb + attributes.py) is the reference: it decides what is valid and
 * words every error message.  This module only has to be exact on input it fully understands.  On
 * anything else -- malformed wire data, a known field with an unexpected wire type, wrong id lengths,
 * timestamps past int64, invalid UTF-8 in any string field, enum values outside the known range,
 * nesting deeper than MAX_DEPTH, a singular sub-message sent twice (protobuf would merge them),
 * protobuf features this decoder does not model (AnyValue.string_value_strindex, Resource.entity_refs),
 * a non-string service.name -- decode_traces returns None and decode.py runs the Python decoder, which
 * then either produces the same table or raises the usual OTLPDecodeError.  MemoryError is the only
 * exception raised.
 *
 * Safety
 * ------
 * Every read is bounds-checked against the end of the enclosing message; recursion (nested AnyValues,
 * unknown groups) is capped at a fixed depth; all buffers live in one context that is freed on every
 * path.  The walk runs without the GIL (it touches no Python object; the input buffer is held by a
 * Py_buffer export); the GIL is taken back only to format doubles with PyOS_double_to_string, so
 * other collector threads keep running while a large request is decoded.
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* AnyValue nesting cap.  Kept well below what upb's default recursion limit (100 messages) allows
 * for a kvlist chain (3 messages per level), so that everything accepted here is also accepted by
 * the Python path; deeper input simply falls back. */
#define MAX_DEPTH 20
/* Nesting cap for unknown (skipped) groups. */
#define MAX_GROUP_DEPTH 16

#define MAX_NS INT64_MAX

enum { WT_VARINT = 0, WT_I64 = 1, WT_LEN = 2, WT_SGROUP = 3, WT_EGROUP = 4, WT_I32 = 5 };

/* Result codes of the internal functions: OK, GIVE_UP (fall back to Python), NOMEM. */
enum { OK = 0, GIVE_UP = -1, NOMEM = -2 };

#define TRY(expr)                 \
    do {                          \
        int _rc = (expr);         \
        if (_rc != OK) return _rc; \
    } while (0)

/* ------------------------------------------------------------------------------------------------ */
/* Growable byte buffer (plain malloc: it is filled while the GIL is released). */

typedef struct {
    char *data;
    size_t len, cap;
} buf_t;

static int buf_reserve(buf_t *b, size_t extra) {
    if (b->cap - b->len >= extra) return OK;
    if (extra > ((size_t)PY_SSIZE_T_MAX) - b->len) return NOMEM;
    size_t need = b->len + extra;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need) cap = cap > ((size_t)PY_SSIZE_T_MAX) / 2 ? need : cap * 2;
    char *data = realloc(b->data, cap);
    if (!data) return NOMEM;
    b->data = data;
    b->cap = cap;
    return OK;
}

static inline int buf_put(buf_t *b, const void *src, size_t n) {
    TRY(buf_reserve(b, n));
    if (n) memcpy(b->data + b->len, src, n);
    b->len += n;
    return OK;
}

static inline int buf_putc(buf_t *b, char c) {
    if (b->len == b->cap) TRY(buf_reserve(b, 1));
    b->data[b->len++] = c;
    return OK;
}

#define buf_lit(b, s) buf_put((b), (s), sizeof(s) - 1)

static inline int buf_i64(buf_t *b, int64_t v) { return buf_put(b, &v, sizeof v); }

static inline int buf_i32(buf_t *b, int32_t v) { return buf_put(b, &v, sizeof v); }

/* ------------------------------------------------------------------------------------------------ */
/* Output columns.  String columns are Arrow "string" arrays: int32 offsets (n + 1) and UTF-8 data. */

enum {
    /* one value per span */
    C_TIMESTAMP, C_TRACE_ID, C_SPAN_ID, C_PARENT_SPAN_ID, C_TRACE_STATE, C_SPAN_NAME, C_SPAN_KIND,
    C_SERVICE_NAME, C_RESOURCE_ATTRIBUTES, C_SCOPE_NAME, C_SCOPE_VERSION, C_SPAN_ATTRIBUTES, C_DURATION,
    C_STATUS_CODE, C_STATUS_MESSAGE,
    /* events: list offsets (n_spans + 1), then one value per event */
    C_EVENT_OFFSETS, C_EVENT_TIMESTAMP, C_EVENT_NAME, C_EVENT_ATTRIBUTES,
    /* links: list offsets (n_spans + 1), then one value per link */
    C_LINK_OFFSETS, C_LINK_TRACE_ID, C_LINK_SPAN_ID, C_LINK_TRACE_STATE, C_LINK_ATTRIBUTES,
    N_COLUMNS
};

static const char IS_STRING[N_COLUMNS] = {
    [C_TRACE_ID] = 1, [C_SPAN_ID] = 1, [C_PARENT_SPAN_ID] = 1, [C_TRACE_STATE] = 1, [C_SPAN_NAME] = 1,
    [C_SPAN_KIND] = 1, [C_SERVICE_NAME] = 1, [C_RESOURCE_ATTRIBUTES] = 1, [C_SCOPE_NAME] = 1,
    [C_SCOPE_VERSION] = 1, [C_SPAN_ATTRIBUTES] = 1, [C_STATUS_CODE] = 1, [C_STATUS_MESSAGE] = 1,
    [C_EVENT_NAME] = 1, [C_EVENT_ATTRIBUTES] = 1, [C_LINK_TRACE_ID] = 1, [C_LINK_SPAN_ID] = 1,
    [C_LINK_TRACE_STATE] = 1, [C_LINK_ATTRIBUTES] = 1,
};

typedef struct {
    buf_t data; /* values (string bytes, or fixed-width little/native-endian ints) */
    buf_t offs; /* int32 offsets, string columns only */
} column_t;

typedef struct {
    column_t col[N_COLUMNS];
    buf_t resource_json; /* ResourceAttributes of the current ResourceSpans */
    buf_t scratch;       /* output of attributes that are validated but not stored (scope attributes) */
    int64_t n_spans, n_events, n_links;
    PyThreadState *thread_state; /* non-NULL while the GIL is released */
} ctx_t;

static const char *SPAN_KINDS[] = {"Unspecified", "Internal", "Server", "Client", "Producer", "Consumer"};
static const char *STATUS_CODES[] = {"Unset", "Ok", "Error"};

/* Closes the current value of a string column: appends the end offset.  Arrow string offsets are
 * int32, so a column over 2 GiB gives up (the Python path decides what to do with such a request). */
static inline int col_end(column_t *c) {
    if (c->data.len > INT32_MAX) return GIVE_UP;
    return buf_i32(&c->offs, (int32_t)c->data.len);
}

/* ------------------------------------------------------------------------------------------------ */
/* Wire format reading.  A reader is a [p, end) window; every read checks it. */

typedef struct {
    const uint8_t *p, *end;
} rd_t;

static inline int rd_varint(rd_t *r, uint64_t *out) {
    const uint8_t *p = r->p;
    uint64_t v = 0;
    for (int i = 0; i < 10; i++) {
        if (p >= r->end) return GIVE_UP;
        uint8_t b = *p++;
        /* The 10th byte may only carry the 64th bit; anything more is not a valid 64-bit varint. */
        if (i == 9 && b > 1) return GIVE_UP;
        v |= (uint64_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80)) {
            r->p = p;
            *out = v;
            return OK;
        }
    }
    return GIVE_UP;
}

static inline int rd_tag(rd_t *r, uint32_t *field, int *wt) {
    uint64_t tag;
    TRY(rd_varint(r, &tag));
    /* Field numbers are 1 .. 2^29-1; wire types 6 and 7 do not exist. */
    if (tag > UINT32_MAX || (tag >> 3) == 0 || (tag & 7) > 5) return GIVE_UP;
    *field = (uint32_t)(tag >> 3);
    *wt = (int)(tag & 7);
    return OK;
}

static inline int rd_fixed64(rd_t *r, uint64_t *out) {
    if (r->end - r->p < 8) return GIVE_UP;
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | r->p[i]; /* little-endian on the wire */
    r->p += 8;
    *out = v;
    return OK;
}

/* A length-delimited field's payload, as a sub-reader. */
static inline int rd_len(rd_t *r, rd_t *sub) {
    uint64_t n;
    TRY(rd_varint(r, &n));
    if (n > (uint64_t)(r->end - r->p)) return GIVE_UP;
    sub->p = r->p;
    sub->end = r->p + n;
    r->p += n;
    return OK;
}

static int skip_field(rd_t *r, uint32_t field, int wt, int depth);

/* Skips an unknown group up to its matching END_GROUP tag. */
static int skip_group(rd_t *r, uint32_t field, int depth) {
    if (depth > MAX_GROUP_DEPTH) return GIVE_UP;
    while (r->p < r->end) {
        uint32_t f;
        int wt;
        TRY(rd_tag(r, &f, &wt));
        if (wt == WT_EGROUP) return f == field ? OK : GIVE_UP;
        TRY(skip_field(r, f, wt, depth + 1));
    }
    return GIVE_UP; /* unterminated group */
}

/* Skips one unknown field of any wire type.  A stray END_GROUP gives up. */
static int skip_field(rd_t *r, uint32_t field, int wt, int depth) {
    uint64_t v;
    rd_t sub;
    switch (wt) {
    case WT_VARINT: return rd_varint(r, &v);
    case WT_I64: return rd_fixed64(r, &v);
    case WT_LEN: return rd_len(r, &sub);
    case WT_I32:
        if (r->end - r->p < 4) return GIVE_UP;
        r->p += 4;
        return OK;
    case WT_SGROUP: return skip_group(r, field, depth);
    default: return GIVE_UP;
    }
}

/* A known field number must come with its declared wire type.  protobuf would treat a mismatch as
 * an unknown field; rather than model that, give up and let the Python path decide. */
#define EXPECT(wt, want) \
    do {                 \
        if ((wt) != (want)) return GIVE_UP; \
    } while (0)

/* ------------------------------------------------------------------------------------------------ */
/* UTF-8 and JSON text */

/* Length of the well-formed UTF-8 sequence starting at s[0] (a non-ASCII lead byte), or 0 if it is
 * not well-formed.  Strict, like upb's and Python's validators: no overlong forms, no surrogates,
 * nothing above U+10FFFF. */
static inline size_t utf8_seq(const uint8_t *s, size_t avail) {
    uint8_t c = s[0];
    if (c < 0xC2) return 0;
    if (c < 0xE0) return (avail >= 2 && (s[1] & 0xC0) == 0x80) ? 2 : 0;
    if (c < 0xF0) {
        if (avail < 3) return 0;
        uint8_t lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
        return (s[1] >= lo && s[1] <= hi && (s[2] & 0xC0) == 0x80) ? 3 : 0;
    }
    if (c < 0xF5) {
        if (avail < 4) return 0;
        uint8_t lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
        return (s[1] >= lo && s[1] <= hi && (s[2] & 0xC0) == 0x80 && (s[3] & 0xC0) == 0x80) ? 4 : 0;
    }
    return 0;
}

static int utf8_valid(const uint8_t *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        /* ASCII fast path, 8 bytes at a time. */
        while (i + 8 <= n) {
            uint64_t w;
            memcpy(&w, s + i, 8);
            if (w & 0x8080808080808080ULL) break;
            i += 8;
        }
        if (i >= n) break;
        if (s[i] < 0x80) {
            i++;
            continue;
        }
        size_t k = utf8_seq(s + i, n - i);
        if (!k) return GIVE_UP;
        i += k;
    }
    return OK;
}

/* A validated UTF-8 string as a column value. */
static inline int col_str(column_t *c, const uint8_t *s, size_t n) {
    TRY(utf8_valid(s, n));
    TRY(buf_put(&c->data, s, n));
    return col_end(c);
}

/* Bytes that json.dumps escapes: '"', '\\' and control characters below 0x20. */
static unsigned char JSON_ESCAPE[256];

static void init_tables(void) {
    for (int c = 0; c < 0x20; c++) JSON_ESCAPE[c] = 1;
    JSON_ESCAPE['"'] = 1;
    JSON_ESCAPE['\\'] = 1;
}

/* Nonzero if any byte of the 8-byte word w needs a closer look in json_str: a control character
 * (< 0x20), '"', '\\' or a non-ASCII byte.  Classic SWAR tests ("has a byte less than n", "has a
 * zero byte" after XOR); false positives are impossible for ASCII words, and any hit falls back to
 * the byte loop, so the test only has to be exact when it says "none". */
static inline uint64_t json_word_special(uint64_t w) {
    const uint64_t ONES = 0x0101010101010101ULL, HIGH = 0x8080808080808080ULL;
    uint64_t quote = w ^ (ONES * '"'), backslash = w ^ (ONES * '\\');
    return ((w - ONES * 0x20) | (quote - ONES) | (backslash - ONES) | w) & HIGH;
}

/* A JSON string literal for s, escaped as json.dumps(..., ensure_ascii=False) does: non-ASCII stays
 * raw UTF-8.  The caller has validated s as UTF-8 (when the field was read, as upb does). */
static int json_str(buf_t *b, const uint8_t *s, size_t n) {
    static const char HEX[] = "0123456789abcdef";
    TRY(buf_reserve(b, n + 2));
    TRY(buf_putc(b, '"'));
    size_t run = 0, i = 0; /* s[run:i] is plain text not yet copied */
    while (i < n) {
        /* Plain printable ASCII, 8 bytes at a time. */
        while (i + 8 <= n) {
            uint64_t w;
            memcpy(&w, s + i, 8);
            if (json_word_special(w)) break;
            i += 8;
        }
        if (i >= n) break;
        uint8_t c = s[i];
        if (c < 0x80) {
            if (!JSON_ESCAPE[c]) {
                i++;
                continue;
            }
            TRY(buf_put(b, s + run, i - run));
            char esc[6] = {'\\', 0};
            size_t len = 2;
            switch (c) {
            case '"': esc[1] = '"'; break;
            case '\\': esc[1] = '\\'; break;
            case '\n': esc[1] = 'n'; break;
            case '\r': esc[1] = 'r'; break;
            case '\t': esc[1] = 't'; break;
            case '\b': esc[1] = 'b'; break;
            case '\f': esc[1] = 'f'; break;
            default:
                esc[1] = 'u', esc[2] = '0', esc[3] = '0', esc[4] = HEX[c >> 4], esc[5] = HEX[c & 15];
                len = 6;
            }
            TRY(buf_put(b, esc, len));
            run = ++i;
        } else {
            i++; /* non-ASCII: copied raw */
        }
    }
    TRY(buf_put(b, s + run, n - run));
    return buf_putc(b, '"');
}

static int json_int(buf_t *b, int64_t v) {
    char tmp[24];
    int pos = sizeof tmp;
    /* Magnitude as unsigned, so INT64_MIN does not overflow. */
    uint64_t m = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do {
        tmp[--pos] = (char)('0' + m % 10);
        m /= 10;
    } while (m);
    if (v < 0) tmp[--pos] = '-';
    return buf_put(b, tmp + pos, sizeof tmp - pos);
}

/* Doubles: NaN/±inf become strings (JSON has no literal for them); finite values are formatted
 * exactly like Python's repr (what json.dumps writes).  PyOS_double_to_string needs the GIL. */
static int json_double(ctx_t *ctx, buf_t *b, double v) {
    if (v != v) return buf_lit(b, "\"NaN\"");
    if (v == HUGE_VAL) return buf_lit(b, "\"Infinity\"");
    if (v == -HUGE_VAL) return buf_lit(b, "\"-Infinity\"");
    if (ctx->thread_state) PyEval_RestoreThread(ctx->thread_state);
    char *text = PyOS_double_to_string(v, 'r', 0, Py_DTSF_ADD_DOT_0, NULL);
    int rc = NOMEM;
    if (text) {
        rc = buf_put(b, text, strlen(text));
        PyMem_Free(text);
    } else {
        PyErr_Clear(); /* reported as NOMEM once the walk is over */
    }
    if (ctx->thread_state) ctx->thread_state = PyEval_SaveThread();
    return rc;
}

static int json_base64(buf_t *b, const uint8_t *s, size_t n) {
    static const char A[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    TRY(buf_reserve(b, (n + 2) / 3 * 4 + 2));
    char *o = b->data + b->len;
    *o++ = '"';
    size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8 | s[i + 2];
        *o++ = A[v >> 18], *o++ = A[(v >> 12) & 63], *o++ = A[(v >> 6) & 63], *o++ = A[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)s[i] << 16;
        *o++ = A[v >> 18], *o++ = A[(v >> 12) & 63], *o++ = '=', *o++ = '=';
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8;
        *o++ = A[v >> 18], *o++ = A[(v >> 12) & 63], *o++ = A[(v >> 6) & 63], *o++ = '=';
    }
    *o++ = '"';
    b->len = (size_t)(o - b->data);
    return OK;
}

static int col_hex(column_t *c, const uint8_t *s, size_t n) {
    static const char HEX[] = "0123456789abcdef";
    TRY(buf_reserve(&c->data, 2 * n));
    char *o = c->data.data + c->data.len;
    for (size_t i = 0; i < n; i++) *o++ = HEX[s[i] >> 4], *o++ = HEX[s[i] & 15];
    c->data.len += 2 * n;
    return col_end(c);
}

/* ------------------------------------------------------------------------------------------------ */
/* Attributes: KeyValue / AnyValue → JSON */

/* What a KeyValue held, for the resource's service.name lookup. */
typedef struct {
    const uint8_t *key;
    size_t key_len;
    int is_string;
    const uint8_t *str;
    size_t str_len;
} kv_info_t;

static int enc_kv(ctx_t *ctx, buf_t *out, rd_t r, int depth, kv_info_t *info);

/* One AnyValue (the payload of a KeyValue.value or ArrayValue.values field) as JSON.  protobuf's oneof
 * semantics: the last member on the wire wins.  Scalar members are simply overwritten (every string
 * is still validated, as upb does); if a message member (array/kvlist) appears together with any
 * other member, protobuf might merge them, so give up. */
static int enc_any(ctx_t *ctx, buf_t *out, rd_t r, int depth, kv_info_t *info) {
    if (depth > MAX_DEPTH) return GIVE_UP;
    uint32_t last = 0;
    int members = 0, message_members = 0;
    uint64_t scalar = 0;
    rd_t payload = {NULL, NULL};
    while (r.p < r.end) {
        uint32_t f;
        int wt;
        TRY(rd_tag(&r, &f, &wt));
        switch (f) {
        case 1: /* string_value */
            EXPECT(wt, WT_LEN);
            TRY(rd_len(&r, &payload));
            TRY(utf8_valid(payload.p, (size_t)(payload.end - payload.p)));
            break;
        case 2: /* bool_value */
        case 3: /* int_value */
            EXPECT(wt, WT_VARINT);
            TRY(rd_varint(&r, &scalar));
            break;
        case 4: /* double_value */
            EXPECT(wt, WT_I64);
            TRY(rd_fixed64(&r, &scalar));
            break;
        case 5: /* array_value */
        case 6: /* kvlist_value */
            EXPECT(wt, WT_LEN);
            TRY(rd_len(&r, &payload));
            message_members++;
            break;
        case 7: /* bytes_value */
            EXPECT(wt, WT_LEN);
            TRY(rd_len(&r, &payload));
            break;
        case 8: /* string_value_strindex: not modelled here */
            return GIVE_UP;
        default:
            TRY(skip_field(&r, f, wt, 0));
            continue;
        }
        last = f;
        members++;
    }
    if (message_members && members > 1) return GIVE_UP;
    if (info) info->is_string = last == 1;
    switch (last) {
    case 0: return buf_lit(out, "null");
    case 1:
        if (info) info->str = payload.p, info->str_len = (size_t)(payload.end - payload.p);
        return json_str(out, payload.p, (size_t)(payload.end - payload.p)); /* validated when read */
    case 2: return scalar ? buf_lit(out, "true") : buf_lit(out, "false");
    case 3: return json_int(out, (int64_t)scalar);
    case 4: {
        double d;
        memcpy(&d, &scalar, sizeof d);
        return json_double(ctx, out, d);
    }
    case 7: return json_base64(out, payload.p, (size_t)(payload.end - payload.p));
    case 5: { /* ArrayValue{repeated AnyValue values = 1} */
        int n = 0;
        TRY(buf_putc(out, '['));
        while (payload.p < payload.end) {
            uint32_t f;
            int wt;
            TRY(rd_tag(&payload, &f, &wt));
            if (f != 1) {
                TRY(skip_field(&payload, f, wt, 0));
                continue;
            }
            EXPECT(wt, WT_LEN);
            rd_t item;
            TRY(rd_len(&payload, &item));
            if (n++) TRY(buf_putc(out, ','));
            TRY(enc_any(ctx, out, item, depth + 1, NULL));
        }
        return buf_putc(out, ']');
    }
    default: { /* 6: KeyValueList{repeated KeyValue values = 1} */
        int n = 0;
        TRY(buf_putc(out, '{'));
        while (payload.p < payload.end) {
            uint32_t f;
            int wt;
            TRY(rd_tag(&payload, &f, &wt));
            if (f != 1) {
                TRY(skip_field(&payload, f, wt, 0));
                continue;
            }
            EXPECT(wt, WT_LEN);
            rd_t item;
            TRY(rd_len(&payload, &item));
            if (n++) TRY(buf_putc(out, ','));
            TRY(enc_kv(ctx, out, item, depth + 1, NULL));
        }
        return buf_putc(out, '}');
    }
    }
}

/* One KeyValue as a JSON member `"key":value`.  Duplicate keys are kept (json.loads keeps the last,
 * like the Python path's dict).  A value sent twice would be merged by protobuf: give up. */
static int enc_kv(ctx_t *ctx, buf_t *out, rd_t r, int depth, kv_info_t *info) {
    rd_t key = {(const uint8_t *)"", (const uint8_t *)""}, value = {NULL, NULL};
    int has_value = 0;
    while (r.p < r.end) {
        uint32_t f;
        int wt;
        TRY(rd_tag(&r, &f, &wt));
        if (f == 1) { /* key */
            EXPECT(wt, WT_LEN);
            TRY(rd_len(&r, &key));
            TRY(utf8_valid(key.p, (size_t)(key.end - key.p)));
        } else if (f == 2) { /* value */
            EXPECT(wt, WT_LEN);
            if (has_value++) return GIVE_UP;
            TRY(rd_len(&r, &value));
        } else if (f == 3) { /* key_strindex (int32), ignored like the Python path does */
            EXPECT(wt, WT_VARINT);
            TRY(skip_field(&r, f, wt, 0));
        } else {
            TRY(skip_field(&r, f, wt, 0));
        }
    }
    TRY(json_str(out, key.p, (size_t)(key.end - key.p))); /* validated when read */
    TRY(buf_putc(out, ':'));
    if (info) info->key = key.p, info->key_len = (size_t)(key.end - key.p), info->is_string = 0;
    if (!has_value) return buf_lit(out, "null");
    return enc_any(ctx, out, value, depth, info);
}

/* Appends the KeyValue in r to a JSON object being built in out ('{' already written); *n counts
 * members so far, for the commas. */
static inline int enc_member(ctx_t *ctx, buf_t *out, rd_t r, int *n, kv_info_t *info) {
    if ((*n)++) TRY(buf_putc(out, ','));
    return enc_kv(ctx, out, r, 1, info);
}

/* ------------------------------------------------------------------------------------------------ */
/* The message tree */

/* Resource{repeated KeyValue attributes = 1; dropped_attributes_count = 2; entity_refs = 3} → the
 * ResourceAttributes JSON (in ctx->resource_json) and the service name (first service.name key; it
 * must hold a string, else the Python path's str(value) applies: give up). */
static int dec_resource(ctx_t *ctx, rd_t r, const uint8_t **service, size_t *service_len) {
    buf_t *out = &ctx->resource_json;
    int n = 0, found = 0;
    TRY(buf_putc(out, '{'));
    while (r.p < r.end) {
        uint32_t f;
        int wt;
        TRY(rd_tag(&r, &f, &wt));
        if (f == 1) {
            EXPECT(wt, WT_LEN);
            rd_t kv;
            TRY(rd_len(&r, &kv));
            kv_info_t info = {0};
            TRY(enc_member(ctx, out, kv, &n, &info));
            if (!found && info.key_len == 12 && memcmp(info.key, "service.name", 12) == 0) {
                if (!info.is_string) return GIVE_UP;
                found = 1;
                *service = info.str;
                *service_len = info.str_len;
            }
        } else if (f == 2) {
            EXPECT(wt, WT_VARINT);
            TRY(skip_field(&r, f, wt, 0));
        } else if (f == 3) {
            return GIVE_UP; /* entity_refs: not modelled here */
        } else {
            TRY(skip_field(&r, f, wt, 0));
        }
    }
    return buf_putc(out, '}');
}

/* InstrumentationScope{name = 1; version = 2; repeated KeyValue attributes = 3; dropped = 4}.  The
 * attributes are not stored but protobuf validates them, so they are encoded into scratch. */
static int dec_scope(ctx_t *ctx, rd_t r, rd_t *name, rd_t *version) {
    int n = 0;
    while (r.p < r.end) {
        uint32_t f;
        int wt;
        TRY(rd_tag(&r, &f, &wt));
        switch (f) {
        case 1:
        case 2: {
            EXPECT(wt, WT_LEN);
            rd_t *s = f == 1 ? name : version;
            TRY(rd_len(&r, s));
            TRY(utf8_valid(s->p, (size_t)(s->end - s->p)));
            break;
        }
        case 3: {
            EXPECT(wt, WT_LEN);
            rd_t kv;
            TRY(rd_len(&r, &kv));
            ctx->scratch.len = 0;
            TRY(enc_member(ctx, &ctx->scratch, kv, &n, NULL));
            break;
        }
        case 4:
            EXPECT(wt, WT_VARINT);
            TRY(skip_field(&r, f, wt, 0));
            break;
        default: TRY(skip_field(&r, f, wt, 0));
        }
    }
    return OK;
}

/* Span.Event{fixed64 time_unix_nano = 1; name = 2; repeated KeyValue attributes = 3; dropped = 4} */
static int dec_event(ctx_t *ctx, rd_t r) {
    column_t *attrs = &ctx->col[C_EVENT_ATTRIBUTES];
    uint64_t time = 0;
    rd_t name = {(const uint8_t *)"", (const uint8_t *)""};
    int n = 0;
    TRY(buf_putc(&attrs->data, '{'));
    while (r.p < r.end) {
        uint32_t f;
        int wt;
        TRY(rd_tag(&r, &f, &wt));
        switch (f) {
        case 1:
            EXPECT(wt, WT_I64);
            TRY(rd_fixed64(&r, &time));
            break;
        case 2:
            EXPECT(wt, WT_LEN);
            TRY(rd_len(&r, &name));
            TRY(utf8_valid(name.p, (size_t)(name.end - name.p)));
            break;
        case 3: {
            EXPECT(wt, WT_LEN);
            rd_t kv;
            TRY(rd_len(&r, &kv));
            TRY(enc_member(ctx, &attrs->data, kv, &n, NULL));
            break;
        }
        case 4:
            EXPECT(wt, WT_VARINT);
            TRY(skip_field(&r, f, wt, 0));
            break;
        default: TRY(skip_field(&r, f, wt, 0));
        }
    }
    if (time > (uint64_t)MAX_NS) return GIVE_UP;
    TRY(buf_putc(&attrs->data, '}'));
    TRY(col_end(attrs));
    TRY(buf_i64(&ctx->col[C_EVENT_TIMESTAMP].data, (int64_t)time));
    TRY(buf_put(&ctx->col[C_EVENT_NAME].data, name.p, (size_t)(name.end - name.p)));
    TRY(col_end(&ctx->col[C_EVENT_NAME]));
    ctx->n_events++;
    return OK;
}

/* Span.Link{trace_id = 1; span_id = 2; trace_state = 3; repeated KeyValue attributes = 4;
 * dropped = 5; fixed32 flags = 6}.  Both ids are required with their exact sizes. */
static int dec_link(ctx_t *ctx, rd_t r) {
    column_t *attrs = &ctx->col[C_LINK_ATTRIBUTES];
    rd_t trace_id = {NULL, NULL}, span_id = {NULL, NULL};
    rd_t state = {(const uint8_t *)"", (const uint8_t *)""};
    int n = 0;
    TRY(buf_putc(&attrs->data, '{'));
    while (r.p < r.end) {
        uint32_t f;
        int wt;
        TRY(rd_tag(&r, &f, &wt));
        switch (f) {
        case 1:
            EXPECT(wt, WT_LEN);
            TRY(rd_len(&r, &trace_id));
            break;
        case 2:
            EXPECT(wt, WT_LEN);
            TRY(rd_len(&r, &span_id));
            break;
        case 3:
            EXPECT(wt, WT_LEN);
            TRY(rd_len(&r, &state));
            TRY(utf8_valid(state.p, (size_t)(state.end - state.p)));
            break;
        case 4: {
            EXPECT(wt, WT_LEN);
            rd_t kv;
            TRY(rd_len(&r, &kv));
            TRY(enc_member(ctx, &attrs->data, kv, &n, NULL));
            break;
        }
        case 5:
            EXPECT(wt, WT_VARINT);
            TRY(skip_field(&r, f, wt, 0));
            break;
        case 6:
            EXPECT(wt, WT_I32);
            TRY(skip_field(&r, f, wt, 0));
            break;
        default: TRY(skip_field(&r, f, wt, 0));
        }
    }
    if (trace_id.end - trace_id.p != 16 || span_id.end - span_id.p != 8) return GIVE_UP;
    TRY(buf_putc(&attrs->data, '}'));
    TRY(col_end(attrs));
    TRY(col_hex(&ctx->col[C_LINK_TRACE_ID], trace_id.p, 16));
    TRY(col_hex(&ctx->col[C_LINK_SPAN_ID], span_id.p, 8));
    TRY(buf_put(&ctx->col[C_LINK_TRACE_STATE].data, state.p, (size_t)(state.end - state.p)));
    TRY(col_end(&ctx->col[C_LINK_TRACE_STATE]));
    ctx->n_links++;
    return OK;
}

/* Status{message = 2; enum code = 3} */
static int dec_status(rd_t r, rd_t *message, uint64_t *code) {
    while (r.p < r.end) {
        uint32_t f;
        int wt;
        TRY(rd_tag(&r, &f, &wt));
        if (f == 2) {
            EXPECT(wt, WT_LEN);
            TRY(rd_len(&r, message));
            TRY(utf8_valid(message->p, (size_t)(message->end - message->p)));
        } else if (f == 3) {
            EXPECT(wt, WT_VARINT);
            TRY(rd_varint(&r, code));
        } else {
            TRY(skip_field(&r, f, wt, 0));
        }
    }
    return OK;
}

typedef struct {
    const uint8_t *service;
    size_t service_len;
    rd_t scope_name, scope_version;
} span_context_t;

/* One Span → one row.  Attributes, events and links go straight into their own columns as they
 * come (each column is independent, and any later failure discards everything anyway); the
 * remaining columns are written once the whole span has been read, since fields may come in any
 * order and singular scalars follow "last one wins". */
static int dec_span(ctx_t *ctx, rd_t r, const span_context_t *sc) {
    static const rd_t EMPTY = {(const uint8_t *)"", (const uint8_t *)""};
    column_t *col = ctx->col, *attrs = &ctx->col[C_SPAN_ATTRIBUTES];
    rd_t trace_id = EMPTY, span_id = EMPTY, parent = EMPTY, state = EMPTY, name = EMPTY;
    rd_t status_message = EMPTY;
    uint64_t kind = 0, start = 0, end = 0, code = 0;
    int n_attrs = 0, has_status = 0;
    TRY(buf_putc(&attrs->data, '{'));
    while (r.p < r.end) {
        uint32_t f;
        int wt;
        TRY(rd_tag(&r, &f, &wt));
        switch (f) {
        case 1: EXPECT(wt, WT_LEN); TRY(rd_len(&r, &trace_id)); break;
        case 2: EXPECT(wt, WT_LEN); TRY(rd_len(&r, &span_id)); break;
        case 4: EXPECT(wt, WT_LEN); TRY(rd_len(&r, &parent)); break;
        case 3:
        case 5: {
            EXPECT(wt, WT_LEN);
            rd_t *s = f == 3 ? &state : &name;
            TRY(rd_len(&r, s));
            TRY(utf8_valid(s->p, (size_t)(s->end - s->p)));
            break;
        }
        case 6: EXPECT(wt, WT_VARINT); TRY(rd_varint(&r, &kind)); break;
        case 7: EXPECT(wt, WT_I64); TRY(rd_fixed64(&r, &start)); break;
        case 8: EXPECT(wt, WT_I64); TRY(rd_fixed64(&r, &end)); break;
        case 9: {
            EXPECT(wt, WT_LEN);
            rd_t kv;
            TRY(rd_len(&r, &kv));
            TRY(enc_member(ctx, &attrs->data, kv, &n_attrs, NULL));
            break;
        }
        case 11: {
            EXPECT(wt, WT_LEN);
            rd_t event;
            TRY(rd_len(&r, &event));
            TRY(dec_event(ctx, event));
            break;
        }
        case 13: {
            EXPECT(wt, WT_LEN);
            rd_t link;
            TRY(rd_len(&r, &link));
            TRY(dec_link(ctx, link));
            break;
        }
        case 10: /* dropped_attributes_count */
        case 12: /* dropped_events_count */
        case 14: /* dropped_links_count */
            EXPECT(wt, WT_VARINT);
            TRY(skip_field(&r, f, wt, 0));
            break;
        case 15: {
            EXPECT(wt, WT_LEN);
            if (has_status++) return GIVE_UP; /* protobuf would merge two Status messages */
            rd_t status;
            TRY(rd_len(&r, &status));
            TRY(dec_status(status, &status_message, &code));
            break;
        }
        case 16: EXPECT(wt, WT_I32); TRY(skip_field(&r, f, wt, 0)); break;
        default: TRY(skip_field(&r, f, wt, 0));
        }
    }
    /* The checks of TraceDecoder.decode; on failure the Python path raises the exact error. */
    size_t parent_len = (size_t)(parent.end - parent.p);
    if (start > (uint64_t)MAX_NS || end > (uint64_t)MAX_NS || trace_id.end - trace_id.p != 16 ||
        span_id.end - span_id.p != 8 || (parent_len != 0 && parent_len != 8) || kind > 5 || code > 2)
        return GIVE_UP;

    TRY(buf_putc(&attrs->data, '}'));
    TRY(col_end(attrs));
    TRY(buf_i64(&col[C_TIMESTAMP].data, (int64_t)start));
    TRY(col_hex(&col[C_TRACE_ID], trace_id.p, 16));
    TRY(col_hex(&col[C_SPAN_ID], span_id.p, 8));
    TRY(col_hex(&col[C_PARENT_SPAN_ID], parent.p, parent_len));
    /* Strings below were validated when read. */
    TRY(buf_put(&col[C_TRACE_STATE].data, state.p, (size_t)(state.end - state.p)));
    TRY(col_end(&col[C_TRACE_STATE]));
    TRY(buf_put(&col[C_SPAN_NAME].data, name.p, (size_t)(name.end - name.p)));
    TRY(col_end(&col[C_SPAN_NAME]));
    TRY(buf_put(&col[C_SPAN_KIND].data, SPAN_KINDS[kind], strlen(SPAN_KINDS[kind])));
    TRY(col_end(&col[C_SPAN_KIND]));
    TRY(buf_put(&col[C_SERVICE_NAME].data, sc->service, sc->service_len));
    TRY(col_end(&col[C_SERVICE_NAME]));
    TRY(buf_put(&col[C_RESOURCE_ATTRIBUTES].data, ctx->resource_json.data, ctx->resource_json.len));
    TRY(col_end(&col[C_RESOURCE_ATTRIBUTES]));
    TRY(buf_put(&col[C_SCOPE_NAME].data, sc->scope_name.p, (size_t)(sc->scope_name.end - sc->scope_name.p)));
    TRY(col_end(&col[C_SCOPE_NAME]));
    TRY(buf_put(&col[C_SCOPE_VERSION].data, sc->scope_version.p,
                (size_t)(sc->scope_version.end - sc->scope_version.p)));
    TRY(col_end(&col[C_SCOPE_VERSION]));
    /* Both in [0, 2^63-1], so the difference fits in int64. */
    TRY(buf_i64(&col[C_DURATION].data, (int64_t)end - (int64_t)start));
    TRY(buf_put(&col[C_STATUS_CODE].data, STATUS_CODES[code], strlen(STATUS_CODES[code])));
    TRY(col_end(&col[C_STATUS_CODE]));
    TRY(buf_put(&col[C_STATUS_MESSAGE].data, status_message.p,
                (size_t)(status_message.end - status_message.p)));
    TRY(col_end(&col[C_STATUS_MESSAGE]));
    /* List offsets: where this span's events/links end. */
    if (ctx->n_events > INT32_MAX || ctx->n_links > INT32_MAX) return GIVE_UP;
    TRY(buf_i32(&col[C_EVENT_OFFSETS].data, (int32_t)ctx->n_events));
    TRY(buf_i32(&col[C_LINK_OFFSETS].data, (int32_t)ctx->n_links));
    ctx->n_spans++;
    return OK;
}

/* ScopeSpans{scope = 1; repeated Span spans = 2; schema_url = 3}.  Two passes: the scope may come
 * after the spans on the wire, and every span row needs it. */
static int dec_scope_spans(ctx_t *ctx, rd_t r, span_context_t *sc) {
    static const rd_t EMPTY = {(const uint8_t *)"", (const uint8_t *)""};
    rd_t scan = r, scope;
    int has_scope = 0;
    sc->scope_name = sc->scope_version = EMPTY;
    while (scan.p < scan.end) {
        uint32_t f;
        int wt;
        TRY(rd_tag(&scan, &f, &wt));
        if (f == 1) {
            EXPECT(wt, WT_LEN);
            if (has_scope++) return GIVE_UP; /* protobuf would merge two scopes */
            TRY(rd_len(&scan, &scope));
            TRY(dec_scope(ctx, scope, &sc->scope_name, &sc->scope_version));
        } else if (f == 2 || f == 3) {
            EXPECT(wt, WT_LEN);
            rd_t s;
            TRY(rd_len(&scan, &s));
            if (f == 3) TRY(utf8_valid(s.p, (size_t)(s.end - s.p))); /* schema_url */
        } else {
            TRY(skip_field(&scan, f, wt, 0));
        }
    }
    /* Second pass: the spans (the structure is known to be sound now). */
    while (r.p < r.end) {
        uint32_t f;
        int wt;
        TRY(rd_tag(&r, &f, &wt));
        if (f == 2) {
            rd_t span;
            TRY(rd_len(&r, &span));
            TRY(dec_span(ctx, span, sc));
        } else {
            TRY(skip_field(&r, f, wt, 0));
        }
    }
    return OK;
}

/* ResourceSpans{resource = 1; repeated ScopeSpans scope_spans = 2; schema_url = 3}.  Two passes, as
 * for ScopeSpans: the resource may come after its scope_spans. */
static int dec_resource_spans(ctx_t *ctx, rd_t r) {
    rd_t scan = r, resource;
    int has_resource = 0;
    span_context_t sc = {.service = (const uint8_t *)"", .service_len = 0};
    ctx->resource_json.len = 0;
    while (scan.p < scan.end) {
        uint32_t f;
        int wt;
        TRY(rd_tag(&scan, &f, &wt));
        if (f == 1) {
            EXPECT(wt, WT_LEN);
            if (has_resource++) return GIVE_UP; /* protobuf would merge two resources */
            TRY(rd_len(&scan, &resource));
            TRY(dec_resource(ctx, resource, &sc.service, &sc.service_len));
        } else if (f == 2 || f == 3) {
            EXPECT(wt, WT_LEN);
            rd_t s;
            TRY(rd_len(&scan, &s));
            if (f == 3) TRY(utf8_valid(s.p, (size_t)(s.end - s.p))); /* schema_url */
        } else {
            TRY(skip_field(&scan, f, wt, 0));
        }
    }
    if (!has_resource) TRY(buf_lit(&ctx->resource_json, "{}"));
    while (r.p < r.end) {
        uint32_t f;
        int wt;
        TRY(rd_tag(&r, &f, &wt));
        if (f == 2) {
            rd_t scope_spans;
            TRY(rd_len(&r, &scope_spans));
            TRY(dec_scope_spans(ctx, scope_spans, &sc));
        } else {
            TRY(skip_field(&r, f, wt, 0));
        }
    }
    return OK;
}

/* ExportTraceServiceRequest{repeated ResourceSpans resource_spans = 1} */
static int dec_request(ctx_t *ctx, rd_t r) {
    for (int i = 0; i < N_COLUMNS; i++)
        if (IS_STRING[i]) TRY(buf_i32(&ctx->col[i].offs, 0));
    TRY(buf_i32(&ctx->col[C_EVENT_OFFSETS].data, 0));
    TRY(buf_i32(&ctx->col[C_LINK_OFFSETS].data, 0));
    while (r.p < r.end) {
        uint32_t f;
        int wt;
        TRY(rd_tag(&r, &f, &wt));
        if (f == 1) {
            EXPECT(wt, WT_LEN);
            rd_t resource_spans;
            TRY(rd_len(&r, &resource_spans));
            TRY(dec_resource_spans(ctx, resource_spans));
        } else {
            TRY(skip_field(&r, f, wt, 0));
        }
    }
    return OK;
}

/* ------------------------------------------------------------------------------------------------ */
/* Python entry point */

static void ctx_free(ctx_t *ctx) {
    for (int i = 0; i < N_COLUMNS; i++) {
        free(ctx->col[i].data.data);
        free(ctx->col[i].offs.data);
    }
    free(ctx->resource_json.data);
    free(ctx->scratch.data);
}

static PyObject *as_bytes(const buf_t *b) { return PyBytes_FromStringAndSize(b->data ? b->data : "", (Py_ssize_t)b->len); }

/* The columns as a tuple: bytes for fixed-width columns, (offsets, data) bytes pairs for strings. */
static PyObject *columns_tuple(const ctx_t *ctx) {
    PyObject *columns = PyTuple_New(N_COLUMNS);
    if (!columns) return NULL;
    for (int i = 0; i < N_COLUMNS; i++) {
        PyObject *item;
        if (IS_STRING[i]) {
            PyObject *offs = as_bytes(&ctx->col[i].offs);
            PyObject *data = offs ? as_bytes(&ctx->col[i].data) : NULL;
            item = data ? PyTuple_Pack(2, offs, data) : NULL;
            Py_XDECREF(offs);
            Py_XDECREF(data);
        } else {
            item = as_bytes(&ctx->col[i].data);
        }
        if (!item) {
            Py_DECREF(columns);
            return NULL;
        }
        PyTuple_SET_ITEM(columns, i, item); /* steals the reference */
    }
    return columns;
}

PyDoc_STRVAR(decode_traces_doc,
"decode_traces(body) -> tuple | None\n\n"
"Decode ExportTraceServiceRequest protobuf bytes into otel_traces column buffers:\n"
"(n_spans, n_events, n_links, columns), columns in COLUMNS order, each a bytes object (int64/int32\n"
"values, native byte order) or an (int32 offsets, UTF-8 data) pair of bytes for string columns.\n"
"Returns None on anything it does not fully understand or that the Python decoder would reject;\n"
"the caller then runs the Python decoder, which is the reference and words the errors.");

static PyObject *decode_traces(PyObject *self, PyObject *arg) {
    (void)self;
    Py_buffer view;
    if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) < 0) return NULL;
    ctx_t *ctx = calloc(1, sizeof *ctx);
    if (!ctx) {
        PyBuffer_Release(&view);
        return PyErr_NoMemory();
    }
    rd_t r = {(const uint8_t *)view.buf, (const uint8_t *)view.buf + view.len};
    /* The walk touches no Python object (the buffer stays exported until released below). */
    ctx->thread_state = PyEval_SaveThread();
    int rc = dec_request(ctx, r);
    PyEval_RestoreThread(ctx->thread_state);
    ctx->thread_state = NULL;
    PyBuffer_Release(&view);

    PyObject *result = NULL;
    if (rc == OK) {
        PyObject *columns = columns_tuple(ctx);
        if (columns)
            result = Py_BuildValue("(LLLN)", (long long)ctx->n_spans, (long long)ctx->n_events,
                                   (long long)ctx->n_links, columns); /* N: steals columns */
    } else if (rc == GIVE_UP) {
        result = Py_NewRef(Py_None);
    } else {
        PyErr_NoMemory();
    }
    ctx_free(ctx);
    free(ctx);
    return result;
}

static PyMethodDef methods[] = {
    {"decode_traces", decode_traces, METH_O, decode_traces_doc},
    {NULL, NULL, 0, NULL},
};

PyDoc_STRVAR(module_doc,
"C decoder for OTLP ExportTraceServiceRequest bytes → otel_traces column buffers.\n\n"
"Used by smoltrace.collector.decode.TraceDecoder when importable; decode_traces returns None for\n"
"anything it does not handle or that is invalid, and the Python decoder (the reference, which words\n"
"every error) runs instead.  SMOLTRACE_PURE_PYTHON_DECODE=1 forces the Python path.");

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_fastotlp", module_doc, -1, methods};

PyMODINIT_FUNC PyInit__fastotlp(void) {
    init_tables();
    PyObject *m = PyModule_Create(&module);
    if (!m) return NULL;
    static const char *NAMES[N_COLUMNS] = {
        "Timestamp", "TraceId", "SpanId", "ParentSpanId", "TraceState", "SpanName", "SpanKind",
        "ServiceName", "ResourceAttributes", "ScopeName", "ScopeVersion", "SpanAttributes", "Duration",
        "StatusCode", "StatusMessage", "Events.offsets", "Events.Timestamp", "Events.Name",
        "Events.Attributes", "Links.offsets", "Links.TraceId", "Links.SpanId", "Links.TraceState",
        "Links.Attributes",
    };
    PyObject *names = PyTuple_New(N_COLUMNS);
    if (!names) goto error;
    for (int i = 0; i < N_COLUMNS; i++) {
        PyObject *s = PyUnicode_FromString(NAMES[i]);
        if (!s) {
            Py_DECREF(names);
            goto error;
        }
        PyTuple_SET_ITEM(names, i, s);
    }
    if (PyModule_AddObject(m, "COLUMNS", names) < 0) {
        Py_DECREF(names);
        goto error;
    }
    if (PyModule_AddIntConstant(m, "MAX_DEPTH", MAX_DEPTH) < 0) goto error;
    return m;
error:
    Py_DECREF(m);
    return NULL;
}
