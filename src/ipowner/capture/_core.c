/* The compiled common path of the capture readers: record walking, header parsing, the flow table
 * and folding, with the same rules as capture/frame.py (the readable specification, followed here step by
 * step) and capture/engine.py: the differential tests require identical results. Python is called only
 * where a real parser is needed: payloads of flows still being inspected, fragment reassembly, names and
 * concealment labels, through the interface documented in capture/core.py (CoreHost).
 *
 * No rule is restated here: every constant and table comes from capture/rules.py, handed over as a dict
 * when a Core is constructed (core.core_rules()), and Core.rules() gives back what this file holds.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <arpa/inet.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

enum { K_OTHER = 0, K_DNS, K_UDP, K_DNSTCP, K_TCP };
static const char *KIND_NAMES[] = {"other", "dns", "udp", "dns-tcp", "tcp"};
enum { T_TCP = 0, T_UDP = 1, T_OTHER = 2 };
enum { COUNTED = 0, NOT_IP = 1, TRUNCATED = 2 };
/* rules.Framing and rules.ExtLength */
enum { F_ETHERNET = 1, F_RAW = 2, F_COOKED = 3, F_FAMILY = 4, F_PPP = 5, F_WLAN = 6, F_RADIOTAP = 7, F_NFLOG = 8,
       F_PKTAP = 9 };
/* rules.Tunnel */
enum { TU_GRE = 1, TU_ERSPAN = 2, TU_VXLAN = 3, TU_GENEVE = 4, TU_GTP_U = 5, TU_IP_IN_IP = 6, TU_TEREDO = 7, TU_L2TP = 8,
       TU_LAST = 8 };
enum { X_NONE = 0, X_OCTETS8 = 1, X_FRAGMENT = 2, X_AH = 3 };

#define MAX_LINKS 32
#define LINKS_DIRECT 1024 /* link types below this are found by index, the others by a scan */
#define MAX_TAGS 8

typedef struct {
    int lt, framing, header, type_at;
} LinkRule;

/* The capture rules (rules.py), as this file uses them: sets become bitmaps or short lists. */
typedef struct {
    int64_t max_record, max_block, empty_run_max;
    uint32_t pcapng_epb;
    LinkRule links[MAX_LINKS];
    int nlinks;
    uint8_t link_at[LINKS_DIRECT]; /* link type -> its index in links + 1; 0: not there */
    uint8_t af_version[256]; /* NULL/loopback address family -> 4, 6, or 0 */
    uint8_t broadcast[6];
    uint32_t bcast_hi, pd_magic32; /* the same bytes as words, compared in place */
    uint16_t bcast_lo;
    uint8_t vlan_map[65536 / 8], mpls_map[65536 / 8]; /* EtherType bit maps */
    int et_ipv4, et_ipv6, vlan[MAX_TAGS], nvlan, vlan_len, pppoe, pppoe_len, ppp4, ppp6, mpls[MAX_TAGS], nmpls,
        mpls_len;
    uint8_t pd_magic[4];
    int pd_trailer, pd_min_frame;
    int cmd, cmd_len; /* Cisco MetaData */
    uint8_t ppp_ac[2], llc_snap[3];
    int wlan_data, wlan_header, wlan_four, wlan_qos, wlan_ht, wlan_protected, llc_snap_len, nflog_payload, nflog_align;
    /* tunnels */
    int tunnel_depth, tunnels_max, gre, gre_teb, gre_erspan2, gre_erspan3, gre_ppp, erspan2_len, erspan3_len,
        erspan3_sub, vxlan_len, geneve_len, gtp_len, gtp_gpdu, teredo_auth, teredo_origin, l2tp_version;
    uint8_t ip_in_ip[256], gre_version[256];
    int gre_wlan[MAX_TAGS], ngre_wlan;
    uint8_t tunnel_port[65536]; /* UDP port -> rules.Tunnel, or 0 */
    uint8_t v6ext[256]; /* next header -> X_* */
    int no_next, icmp, tcp, udp, icmpv6, tcp_fin, tcp_syn, tcp_rst, tcp_ack;
    uint8_t icmp_reply[256], icmp_error[256], icmpv6_error[256], icmp_request[256];
    int dynamic_from, known_clients_max;
    struct {
        int alen, plen;
        uint8_t net[16];
    } local[MAX_LINKS];
    int nlocal;
    uint8_t server_port[65536 / 8];
    int ephemeral_from, dns_port, dot_port;
    int64_t inspect_always, tcp_client_inspect, tcp_server_inspect, udp_client_inspect, stream_limit;
    uint8_t tls_ctype[256], tls_after_cert[256];
    int tls_handshake, tls_major, tls_client_hello, tls_server_hello, tls_certificate, ext_sni,
        ext_supported_versions, ext_ech, ext_esni, sni_host_name, ech_outer, tls13;
    uint8_t http_first[256];
    int quic_long, quic_min_initial, gquic_min, gquic_within;
    uint8_t gquic_mark[8];
    int gquic_mark_len;
    double idle_timeout, finished_grace;
    int64_t full_sweep_every;
} Rules;

typedef struct {
    int64_t pk, by, ib, bb;
    double lt, bk;
    int64_t ins;
} Dir;

typedef struct {
    uint64_t serial; /* 0: free slot */
    Dir d[2];        /* 0: the client side (the engine's f.a), 1: the server side (f.b) */
    uint8_t addr[2][16]; /* 0: initiator, 1: responder */
    uint16_t w[2][2];    /* key words per direction: ports, or (protocol, 0) in the other table */
    uint8_t alen, table, proto, kind, fin, l2b;
    uint8_t srv_py; /* a server payload went to Python: a stream may exist there */
    int32_t init_port, resp_port;
    double first;
    PyObject *app;      /* interned str or NULL */
    PyObject *timeline; /* dict bucket -> [sent, received] of rolled-over buckets, or NULL */
    PyObject *va, *vb;  /* the engine's counter lists for payload inspection, or NULL */
    int64_t prev, next; /* the live list, in creation order */
} Flow;

typedef struct {
    uint64_t h;
    int64_t ref; /* slot * 2 + direction; -1 empty */
} Entry;

typedef struct {
    uint8_t init[16], resp[16];
    uint8_t alen, l2b, has_first;
    PyObject *app;
    int64_t flows, pks, pkr, bys, byr, ibs, ibr;
    double first, last;
    PyObject *ports;    /* dict (proto, port) -> None, insertion-ordered; NULL while the pair has one port */
    int32_t first_proto, first_port; /* its first port (first_proto -1: none yet): most pairs have no other */
    int32_t last_proto, last_port;
    PyObject *timeline; /* dict bucket -> [sent, received] */
} Pair;

typedef struct {
    uint64_t h;
    int64_t idx; /* index in pairs, -1 empty */
} PEntry;

typedef struct {
    int64_t slot;
    uint64_t serial;
} FinRef;

/* one tunnel endpoint pair (engine.tunnels): the lower raw address first; alen 0 sums the pairs past the cap */
typedef struct {
    uint8_t kind, alen;
    uint8_t a[16], b[16];
    int64_t pk, by, upk, uby;
} Tun;

/* the Python objects a Core holds, for the GC's traverse and clear */
#define CORE_REFS(X)                                                                                                   \
    X(engine) X(inspect) X(dns_payload) X(fragment) X(conceal) X(core_view) X(core_hello) X(merge_pair) X(prune)      \
    X(counter) X(frag_owner) X(folded) X(apps) X(devices) X(merge_tunnel) X(known)

typedef struct {
    PyObject_HEAD
    PyObject *engine;
    PyObject *inspect, *dns_payload, *fragment, *conceal, *core_view, *core_hello, *merge_pair, *prune, *counter;
    PyObject *frag_owner, *folded, *apps, *devices, *merge_tunnel, *known;
    double bucket;
    int64_t mask, count, sweeps;
    int64_t timeline_pairs; /* pairs that keep a timeline (the engine's memory budget); the rest: NULL */
    Flow *flows;
    int64_t nflows, capflows, freehead, live_head, live_tail, nlive;
    uint64_t next_serial;
    Entry *tab;
    int64_t tabcap, tabused;
    FinRef *fin;
    int64_t nfin, capfin;
    Pair *pairs;
    int64_t npairs, cappairs;
    PEntry *ptab;
    int64_t ptabcap;
    Tun *tun;
    int64_t ntun, captun, lasttun;
    uint8_t last_known[16]; /* the address last put in known_clients */
    int last_known_len;
    Rules r;
} Core;

/* attribute names of the engine's Direction objects (engine.py), interned once */
static PyObject *S_INSPECT, *S_FLOW;

/* ------------------------------------------------------------------ helpers */

static inline uint16_t be16(const uint8_t *p) { return (uint16_t)((p[0] << 8) | p[1]); }
static inline uint32_t be32(const uint8_t *p) {
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}
static inline uint32_t rd32(const uint8_t *p, int big) {
    return big ? be32(p) : ((uint32_t)p[3] << 24) | ((uint32_t)p[2] << 16) | ((uint32_t)p[1] << 8) | p[0];
}

static inline uint64_t mix64(uint64_t h) {
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}

static uint64_t hash_bytes(uint64_t h, const uint8_t *p, int n) {
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        h = (h ^ w) * 0x9E3779B97F4A7C15ULL;
        h ^= h >> 29;
        p += 8;
        n -= 8;
    }
    if (n) {
        uint64_t w = 0;
        memcpy(&w, p, n);
        h = (h ^ w) * 0x9E3779B97F4A7C15ULL;
        h ^= h >> 29;
    }
    return h;
}

/* Python's float floor division (floatobject.c), so time buckets match the reference exactly. */
static double py_floordiv(double vx, double wx) {
    double mod = fmod(vx, wx);
    double div = (vx - mod) / wx;
    if (mod) {
        if ((wx < 0) != (mod < 0)) div -= 1.0;
    }
    double floordiv;
    if (div) {
        floordiv = floor(div);
        if (div - floordiv > 0.5) floordiv += 1.0;
    } else {
        floordiv = copysign(0.0, vx / wx);
    }
    return floordiv;
}

static PyObject *addr_text(const uint8_t *a, int alen) {
    char out[INET6_ADDRSTRLEN];
    if (!inet_ntop(alen == 4 ? AF_INET : AF_INET6, a, out, sizeof out)) {
        PyErr_SetString(PyExc_ValueError, "bad address");
        return NULL;
    }
    return PyUnicode_FromString(out);
}

static int sync_counter(Core *c) {
    PyObject *v = PyLong_FromLongLong(c->count);
    if (!v) return -1;
    return PyList_SetItem(c->counter, 0, v); /* steals v */
}

/* ------------------------------------------------------------------ flow key table */

static inline uint64_t key_hash(int table, int alen, const uint8_t *s, const uint8_t *d, uint16_t w0, uint16_t w1) {
    uint64_t h = ((uint64_t)table << 40) ^ ((uint64_t)alen << 32) ^ ((uint64_t)w0 << 16) ^ w1;
    h = hash_bytes(h * 0x9E3779B97F4A7C15ULL, s, alen);
    h = hash_bytes(h, d, alen);
    return mix64(h);
}

static inline int key_match(Core *c, int64_t ref, int table, int alen, const uint8_t *s, const uint8_t *d, uint16_t w0,
                            uint16_t w1) {
    Flow *f = &c->flows[ref >> 1];
    int dir = (int)(ref & 1);
    return f->table == table && f->alen == alen && f->w[dir][0] == w0 && f->w[dir][1] == w1 &&
           memcmp(f->addr[dir], s, alen) == 0 && memcmp(f->addr[1 - dir], d, alen) == 0;
}

static int64_t tab_get(Core *c, uint64_t h, int table, int alen, const uint8_t *s, const uint8_t *d, uint16_t w0,
                       uint16_t w1) {
    int64_t m = c->tabcap - 1;
    for (int64_t i = (int64_t)(h & m);; i = (i + 1) & m) {
        Entry *e = &c->tab[i];
        if (e->ref < 0) return -1;
        if (e->h == h && key_match(c, e->ref, table, alen, s, d, w0, w1)) return e->ref;
    }
}

static int tab_grow(Core *c) {
    int64_t old = c->tabcap;
    Entry *ot = c->tab;
    int64_t cap = old ? old * 2 : 1 << 16;
    Entry *t = PyMem_Malloc(sizeof(Entry) * cap);
    if (!t) {
        PyErr_NoMemory();
        return -1;
    }
    for (int64_t i = 0; i < cap; i++) t[i].ref = -1;
    for (int64_t i = 0; i < old; i++) {
        if (ot[i].ref < 0) continue;
        int64_t j = (int64_t)(ot[i].h & (cap - 1));
        while (t[j].ref >= 0) j = (j + 1) & (cap - 1);
        t[j] = ot[i];
    }
    PyMem_Free(ot);
    c->tab = t;
    c->tabcap = cap;
    return 0;
}

/* Set a key to ref (replacing an equal key, as a dict assignment does). */
static int tab_set(Core *c, uint64_t h, int table, int alen, const uint8_t *s, const uint8_t *d, uint16_t w0,
                   uint16_t w1, int64_t ref) {
    if ((c->tabused + 1) * 2 > c->tabcap && tab_grow(c) < 0) return -1;
    int64_t m = c->tabcap - 1;
    for (int64_t i = (int64_t)(h & m);; i = (i + 1) & m) {
        Entry *e = &c->tab[i];
        if (e->ref < 0) {
            e->h = h;
            e->ref = ref;
            c->tabused++;
            return 0;
        }
        if (e->h == h && key_match(c, e->ref, table, alen, s, d, w0, w1)) {
            e->ref = ref;
            return 0;
        }
    }
}

/* Remove the entry of one direction of a flow if it still points at it (backward-shift deletion). */
static void tab_del(Core *c, int64_t slot, int dir) {
    Flow *f = &c->flows[slot];
    uint64_t h = key_hash(f->table, f->alen, f->addr[dir], f->addr[1 - dir], f->w[dir][0], f->w[dir][1]);
    int64_t m = c->tabcap - 1;
    int64_t i = (int64_t)(h & m);
    for (;; i = (i + 1) & m) {
        Entry *e = &c->tab[i];
        if (e->ref < 0) return;
        if (e->h == h && (e->ref >> 1) == slot &&
            key_match(c, e->ref, f->table, f->alen, f->addr[dir], f->addr[1 - dir], f->w[dir][0], f->w[dir][1]))
            break;
    }
    /* i holds the entry to delete */
    int64_t j = i;
    for (;;) {
        c->tab[i].ref = -1;
        for (;;) {
            j = (j + 1) & m;
            if (c->tab[j].ref < 0) {
                c->tabused--;
                return;
            }
            int64_t k = (int64_t)(c->tab[j].h & m);
            /* can entry j move to i? only if its home k is not cyclically in (i, j] */
            if (i <= j ? (i < k && k <= j) : (i < k || k <= j)) continue;
            break;
        }
        c->tab[i] = c->tab[j];
        i = j;
    }
}

/* ------------------------------------------------------------------ pairs */

static int64_t pair_get(Core *c, Flow *f, int create) {
    uint64_t h = hash_bytes((uint64_t)f->alen * 0x100000001B3ULL ^ (uint64_t)(uintptr_t)f->app, f->addr[0], f->alen);
    h = mix64(hash_bytes(h, f->addr[1], f->alen));
    if (c->ptabcap == 0 || (c->npairs + 1) * 2 > c->ptabcap) {
        int64_t cap = c->ptabcap ? c->ptabcap * 2 : 1024;
        PEntry *t = PyMem_Malloc(sizeof(PEntry) * cap);
        if (!t) {
            PyErr_NoMemory();
            return -1;
        }
        for (int64_t i = 0; i < cap; i++) t[i].idx = -1;
        for (int64_t i = 0; i < c->ptabcap; i++) {
            if (c->ptab[i].idx < 0) continue;
            int64_t j = (int64_t)(c->ptab[i].h & (cap - 1));
            while (t[j].idx >= 0) j = (j + 1) & (cap - 1);
            t[j] = c->ptab[i];
        }
        PyMem_Free(c->ptab);
        c->ptab = t;
        c->ptabcap = cap;
    }
    int64_t m = c->ptabcap - 1;
    int64_t i = (int64_t)(h & m);
    for (;; i = (i + 1) & m) {
        PEntry *e = &c->ptab[i];
        if (e->idx < 0) break;
        Pair *p = &c->pairs[e->idx];
        if (e->h == h && p->alen == f->alen && p->app == f->app && memcmp(p->init, f->addr[0], f->alen) == 0 &&
            memcmp(p->resp, f->addr[1], f->alen) == 0)
            return e->idx;
    }
    if (!create) return -1;
    if (c->npairs == c->cappairs) {
        int64_t cap = c->cappairs ? c->cappairs * 2 : 256;
        Pair *np = PyMem_Realloc(c->pairs, sizeof(Pair) * cap);
        if (!np) {
            PyErr_NoMemory();
            return -1;
        }
        c->pairs = np;
        c->cappairs = cap;
    }
    Pair *p = &c->pairs[c->npairs];
    memset(p, 0, sizeof *p);
    memcpy(p->init, f->addr[0], f->alen);
    memcpy(p->resp, f->addr[1], f->alen);
    p->alen = f->alen;
    p->app = f->app;
    Py_XINCREF(p->app);
    p->last_proto = p->first_proto = -1;
    p->ports = NULL; /* made at a second port: a dictionary per pair cost more than the pair itself */
    p->timeline = c->npairs < c->timeline_pairs ? PyDict_New() : NULL;
    if (c->npairs < c->timeline_pairs && !p->timeline) return -1;
    c->ptab[i].h = h;
    c->ptab[i].idx = c->npairs;
    return c->npairs++;
}

static int timeline_add(PyObject *tl, double bk, int64_t s, int64_t r) {
    PyObject *key = PyFloat_FromDouble(bk);
    if (!key) return -1;
    PyObject *slot = PyDict_GetItemWithError(tl, key);
    int rc = 0;
    if (slot == NULL) {
        if (PyErr_Occurred()) {
            Py_DECREF(key);
            return -1;
        }
        PyObject *lst = Py_BuildValue("[LL]", (long long)s, (long long)r);
        rc = lst ? PyDict_SetItem(tl, key, lst) : -1;
        Py_XDECREF(lst);
    } else {
        for (int k = 0; k < 2 && rc == 0; k++) {
            int64_t add = k ? r : s;
            if (!add) continue;
            PyObject *old = PyList_GET_ITEM(slot, k);
            PyObject *inc = PyLong_FromLongLong(add);
            PyObject *nv = inc ? PyNumber_Add(old, inc) : NULL;
            Py_XDECREF(inc);
            if (!nv) rc = -1;
            else PyList_SetItem(slot, k, nv);
        }
    }
    Py_DECREF(key);
    return rc;
}

/* Fold one flow into its (initiator, responder, app) pair and forget it; the engine's Engine.fold. */
static int fold(Core *c, int64_t slot) {
    Flow *f = &c->flows[slot];
    int64_t pi = pair_get(c, f, 1);
    if (pi < 0) return -1;
    Pair *p = &c->pairs[pi];
    Dir *a = &f->d[0], *b = &f->d[1];
    p->flows += 1;
    p->pks += a->pk;
    p->pkr += b->pk;
    p->bys += a->by;
    p->byr += b->by;
    p->ibs += a->ib;
    p->ibr += b->ib;
    double last = a->lt > b->lt ? a->lt : b->lt;
    if (!p->has_first || f->first < p->first) p->first = f->first;
    if (!p->has_first || last > p->last) p->last = last;
    p->has_first = 1;
    if (p->first_proto < 0) {
        p->first_proto = p->last_proto = f->proto;
        p->first_port = p->last_port = f->resp_port;
    } else if (p->last_proto != f->proto || p->last_port != f->resp_port) {
        if (!p->ports) {
            PyObject *k0 = Py_BuildValue("(ii)", (int)p->first_proto, (int)p->first_port);
            if (!k0 || !(p->ports = PyDict_New()) || PyDict_SetItem(p->ports, k0, Py_None) < 0) {
                Py_XDECREF(k0);
                return -1;
            }
            Py_DECREF(k0);
        }
        PyObject *k = Py_BuildValue("(ii)", (int)f->proto, (int)f->resp_port);
        if (!k || PyDict_SetItem(p->ports, k, Py_None) < 0) {
            Py_XDECREF(k);
            return -1;
        }
        Py_DECREF(k);
        p->last_proto = f->proto;
        p->last_port = f->resp_port;
    }
    if (f->l2b) p->l2b = 1;
    if (f->timeline && p->timeline) {
        PyObject *k, *v;
        Py_ssize_t pos = 0;
        while (PyDict_Next(f->timeline, &pos, &k, &v)) {
            long long s = PyLong_AsLongLong(PyList_GET_ITEM(v, 0));
            long long r = PyLong_AsLongLong(PyList_GET_ITEM(v, 1));
            if (PyErr_Occurred() || timeline_add(p->timeline, PyFloat_AS_DOUBLE(k), s, r) < 0) return -1;
        }
    }
    if (p->timeline && a->bb && timeline_add(p->timeline, a->bk, a->bb, 0) < 0) return -1;
    if (p->timeline && b->bb && timeline_add(p->timeline, b->bk, 0, b->bb) < 0) return -1;
    tab_del(c, slot, 0);
    tab_del(c, slot, 1);
    /* unlink from the live list */
    if (f->prev >= 0) c->flows[f->prev].next = f->next;
    else c->live_head = f->next;
    if (f->next >= 0) c->flows[f->next].prev = f->prev;
    else c->live_tail = f->prev;
    c->nlive--;
    if (f->va) {
        /* the directions point back at the engine's Flow object; break the cycle so they go at once */
        if (PyObject_SetAttr(f->va, S_FLOW, c->folded) < 0 || PyObject_SetAttr(f->vb, S_FLOW, c->folded) < 0)
            return -1;
    }
    Py_CLEAR(f->va);
    Py_CLEAR(f->vb);
    Py_CLEAR(f->timeline);
    Py_CLEAR(f->app);
    f->serial = 0;
    f->next = c->freehead;
    c->freehead = slot;
    return 0;
}

static inline int alive(Core *c, int64_t slot, uint64_t serial) {
    return slot >= 0 && slot < c->nflows && c->flows[slot].serial == serial;
}

static int sweep(Core *c, double now) {
    c->sweeps++;
    PyObject *n = PyFloat_FromDouble(now);
    if (!n || PyObject_SetAttrString(c->engine, "now", n) < 0) {
        Py_XDECREF(n);
        return -1;
    }
    Py_DECREF(n);
    if (c->sweeps % c->r.full_sweep_every == 0) {
        int64_t s = c->live_head;
        while (s >= 0) {
            Flow *f = &c->flows[s];
            int64_t nx = f->next;
            double last = f->d[0].lt > f->d[1].lt ? f->d[0].lt : f->d[1].lt;
            if (now - last > c->r.idle_timeout || (f->fin && now - last > c->r.finished_grace)) {
                if (fold(c, s) < 0) return -1;
            }
            s = nx;
        }
        int64_t k = 0;
        for (int64_t i = 0; i < c->nfin; i++)
            if (alive(c, c->fin[i].slot, c->fin[i].serial)) c->fin[k++] = c->fin[i];
        c->nfin = k;
    } else {
        int64_t k = 0;
        for (int64_t i = 0; i < c->nfin; i++) {
            FinRef r = c->fin[i];
            if (!alive(c, r.slot, r.serial)) continue;
            Flow *f = &c->flows[r.slot];
            double last = f->d[0].lt > f->d[1].lt ? f->d[0].lt : f->d[1].lt;
            if (now - last > c->r.finished_grace) {
                if (fold(c, r.slot) < 0) return -1;
            } else {
                c->fin[k++] = r;
            }
        }
        c->nfin = k;
    }
    PyObject *r = PyObject_CallNoArgs(c->prune);
    if (!r) return -1;
    Py_DECREF(r);
    return 0;
}

static int mark_finished(Core *c, int64_t slot) {
    Flow *f = &c->flows[slot];
    f->fin = 1;
    if (c->nfin == c->capfin) {
        int64_t cap = c->capfin ? c->capfin * 2 : 1024;
        FinRef *nf = PyMem_Realloc(c->fin, sizeof(FinRef) * cap);
        if (!nf) {
            PyErr_NoMemory();
            return -1;
        }
        c->fin = nf;
        c->capfin = cap;
    }
    c->fin[c->nfin].slot = slot;
    c->fin[c->nfin].serial = f->serial;
    c->nfin++;
    return 0;
}

/* ------------------------------------------------------------------ flow creation */

static int is_device(Core *c, const uint8_t *a, int alen) {
    Py_ssize_t n = PyTuple_GET_SIZE(c->devices);
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *d = PyTuple_GET_ITEM(c->devices, i);
        if (PyBytes_GET_SIZE(d) == alen && memcmp(PyBytes_AS_STRING(d), a, alen) == 0) return 1;
    }
    return 0;
}

/* engine.is_local */
static int is_local(const Rules *R, const uint8_t *a, int alen) {
    for (int i = 0; i < R->nlocal; i++) {
        if (R->local[i].alen != alen) continue;
        int plen = R->local[i].plen, full = plen >> 3, rest = plen & 7;
        if (memcmp(a, R->local[i].net, full) != 0) continue;
        if (rest && ((a[full] ^ R->local[i].net[full]) & (0xFF << (8 - rest)) & 0xFF)) continue;
        return 1;
    }
    return 0;
}

/* engine._sender_is_client, its strong evidence: 2 | whether the sender is the client, or -1 when there is none */
static int strong_sender(const Rules *R, int proto, int sport, int dport, int flags) {
    if (proto == R->tcp) {
        if (flags & R->tcp_syn) return 2 | !(flags & R->tcp_ack);
    } else if (proto == R->icmp || proto == R->icmpv6) {
        /* sport carries the ICMP type here */
        if (sport < 0 || sport > 255) return 1;
        if (R->icmp_reply[sport]) return 2;
        if (R->icmp_request[sport]) return 3;
        return -1;
    } else if (proto != R->udp) {
        return -1;
    }
    int s_srv = (R->server_port[sport >> 3] >> (sport & 7)) & 1;
    int d_srv = (R->server_port[dport >> 3] >> (dport & 7)) & 1;
    if (s_srv != d_srv) return 2 | d_srv;
    if (sport < R->ephemeral_from && R->ephemeral_from <= dport) return 2;
    if (dport < R->ephemeral_from && R->ephemeral_from <= sport) return 3;
    return -1;
}

/* the rest of engine._sender_is_client, when strong_sender found nothing: whether the sender is the client */
static int weak_sender(const Rules *R, int proto, int sport, int dport, int s_local, int d_local, int s_known,
                       int d_known) {
    if (s_known != d_known) return s_known;
    if (proto == R->icmp || proto == R->icmpv6) {
        if (s_local != d_local) return s_local;
        return !(proto == R->icmp ? R->icmp_error[sport] : R->icmpv6_error[sport]);
    }
    if (proto != R->tcp && proto != R->udp) return s_local != d_local ? s_local : 1;
    if (s_local != d_local) return s_local;
    if (sport >= R->dynamic_from && dport < R->dynamic_from) return 1;
    if (dport >= R->dynamic_from && sport < R->dynamic_from) return 0;
    return 1;
}

/* whether a raw address is in the engine's known_clients (-1: an error) */
static int is_known(Core *c, const uint8_t *a, int alen, PyObject **key) {
    if (!PyDict_GET_SIZE(c->known)) return 0;
    *key = PyBytes_FromStringAndSize((const char *)a, alen);
    if (!*key) return -1;
    return PyDict_Contains(c->known, *key);
}

static PyObject *intern_app(Core *c, PyObject *app) {
    /* returns a new reference to the canonical object for this app name */
    PyObject *have = PyDict_GetItemWithError(c->apps, app);
    if (have) return Py_NewRef(have);
    if (PyErr_Occurred() || PyDict_SetItem(c->apps, app, app) < 0) return NULL;
    return Py_NewRef(app);
}

/* A new flow for a packet src -> dst whose key is missing: (slot, sender's direction) as slot*2+dir. */
static int64_t new_flow(Core *c, int table, int alen, const uint8_t *src, const uint8_t *dst, uint16_t w0,
                        uint16_t w1, int proto, int sport, int dport, int flags, double ts, int l2b,
                        PyObject *app /* new ref or NULL */, uint64_t h) {
    const Rules *R = &c->r;
    PyObject *ks = NULL, *kd = NULL;
    int decided = strong_sender(R, proto, sport, dport, flags);
    if (decided < 0) {
        int s_known = is_known(c, src, alen, &ks), d_known = s_known < 0 ? -1 : is_known(c, dst, alen, &kd);
        if (s_known < 0 || d_known < 0) {
            Py_XDECREF(ks);
            Py_XDECREF(kd);
            Py_XDECREF(app);
            return -1;
        }
        decided = weak_sender(R, proto, sport, dport, is_local(R, src, alen), is_local(R, dst, alen), s_known,
                              d_known);
    }
    int sc = decided & 1;
    if (PyTuple_GET_SIZE(c->devices)) {
        int sd = is_device(c, src, alen), dd = is_device(c, dst, alen);
        if (dd && !sd) sc = 0;
        else if (sd && !dd) sc = 1;
    }
    if (decided & 2) {
        /* remembered as a client (known_clients); the address remembered last is not looked up again */
        const uint8_t *ca = sc ? src : dst;
        if (!(c->last_known_len == alen && !memcmp(c->last_known, ca, alen)) &&
            PyDict_GET_SIZE(c->known) < R->known_clients_max) {
            PyObject **kp = sc ? &ks : &kd;
            if (!*kp) *kp = PyBytes_FromStringAndSize((const char *)ca, alen);
            if (!*kp || PyDict_SetItem(c->known, *kp, Py_None) < 0) {
                Py_XDECREF(ks);
                Py_XDECREF(kd);
                Py_XDECREF(app);
                return -1;
            }
            memcpy(c->last_known, ca, alen);
            c->last_known_len = alen;
        }
    }
    Py_XDECREF(ks);
    Py_XDECREF(kd);
    if (app == NULL) {
        PyObject *cur = PyObject_GetAttrString(c->engine, "current_app");
        if (!cur) return -1;
        if (cur == Py_None) {
            Py_DECREF(cur);
        } else {
            app = intern_app(c, cur);
            Py_DECREF(cur);
            if (!app) return -1;
        }
    }
    int64_t slot;
    if (c->freehead >= 0) {
        slot = c->freehead;
        c->freehead = c->flows[slot].next;
    } else {
        if (c->nflows == c->capflows) {
            int64_t cap = c->capflows ? c->capflows * 2 : 4096;
            Flow *nf = PyMem_Realloc(c->flows, sizeof(Flow) * cap);
            if (!nf) {
                Py_XDECREF(app);
                PyErr_NoMemory();
                return -1;
            }
            c->flows = nf;
            c->capflows = cap;
        }
        slot = c->nflows++;
    }
    Flow *f = &c->flows[slot];
    memset(f, 0, sizeof *f);
    f->serial = c->next_serial++;
    f->alen = (uint8_t)alen;
    f->table = (uint8_t)table;
    f->proto = (uint8_t)proto;
    f->first = ts;
    f->l2b = (uint8_t)l2b;
    f->app = app;
    double bk = py_floordiv(ts, c->bucket);
    for (int k = 0; k < 2; k++) {
        f->d[k].lt = ts;
        f->d[k].bk = bk;
    }
    int sdir = sc ? 0 : 1; /* the sender's direction */
    memcpy(f->addr[sdir], src, alen);
    memcpy(f->addr[1 - sdir], dst, alen);
    f->w[sdir][0] = w0;
    f->w[sdir][1] = w1;
    if (table == T_OTHER) {
        f->w[1 - sdir][0] = w0;
        f->w[1 - sdir][1] = w1;
    } else {
        f->w[1 - sdir][0] = w1;
        f->w[1 - sdir][1] = w0;
    }
    f->init_port = sc ? sport : dport;
    f->resp_port = sc ? dport : sport;
    /* live list */
    f->prev = c->live_tail;
    f->next = -1;
    if (c->live_tail >= 0) c->flows[c->live_tail].next = slot;
    else c->live_head = slot;
    c->live_tail = slot;
    c->nlive++;
    /* the sender's key, then the receiver's (an equal key is replaced, as the reference's dict does) */
    if (tab_set(c, h, table, alen, src, dst, w0, w1, slot * 2 + sdir) < 0) return -1;
    uint16_t r0 = table == T_OTHER ? w0 : w1, r1 = table == T_OTHER ? w1 : w0;
    uint64_t rh = key_hash(table, alen, dst, src, r0, r1);
    if (tab_set(c, rh, table, alen, dst, src, r0, r1, slot * 2 + 1 - sdir) < 0) return -1;
    if (proto == R->udp) {
        if (sport == R->dns_port || dport == R->dns_port) {
            f->kind = K_DNS;
            f->d[0].ins = f->d[1].ins = R->inspect_always;
        } else {
            f->kind = K_UDP;
            f->d[0].ins = R->udp_client_inspect;
        }
    } else if (proto == R->tcp) {
        if (sport == R->dns_port || dport == R->dns_port) {
            f->kind = K_DNSTCP;
            f->d[0].ins = f->d[1].ins = R->inspect_always;
        } else {
            f->kind = K_TCP;
            f->d[0].ins = R->tcp_client_inspect;
        }
    } else {
        f->kind = K_OTHER;
    }
    if (f->resp_port == R->dot_port && (proto == R->tcp || proto == R->udp)) {
        PyObject *t = addr_text(f->addr[1], alen);
        if (!t) return -1;
        PyObject *r = PyObject_CallFunction(c->conceal, "Os", t, "dot");
        Py_DECREF(t);
        if (!r) return -1;
        Py_DECREF(r);
    }
    return slot * 2 + sdir;
}

/* ------------------------------------------------------------------ payloads */

static int make_view(Core *c, Flow *f) {
    PyObject *it = addr_text(f->addr[0], f->alen);
    PyObject *rt = it ? addr_text(f->addr[1], f->alen) : NULL;
    PyObject *v = rt ? PyObject_CallFunction(c->core_view, "sOOi", KIND_NAMES[f->kind], it, rt, (int)f->resp_port)
                     : NULL;
    Py_XDECREF(it);
    Py_XDECREF(rt);
    if (!v) return -1;
    if (!PyTuple_Check(v) || PyTuple_GET_SIZE(v) != 2) {
        Py_DECREF(v);
        PyErr_SetString(PyExc_TypeError, "core_view must return two directions");
        return -1;
    }
    f->va = Py_NewRef(PyTuple_GET_ITEM(v, 0));
    f->vb = Py_NewRef(PyTuple_GET_ITEM(v, 1));
    Py_DECREF(v);
    return 0;
}

/* a view direction's inspection budget (Direction.inspect), set before a callback and read after */
static int set_ins(PyObject *dir, int64_t v) {
    PyObject *o = PyLong_FromLongLong(v);
    if (!o) return -1;
    int rc = PyObject_SetAttr(dir, S_INSPECT, o);
    Py_DECREF(o);
    return rc;
}

static int get_ins(PyObject *dir, int64_t *out) {
    PyObject *o = PyObject_GetAttr(dir, S_INSPECT);
    if (!o) return -1;
    long long v = PyLong_AsLongLong(o);
    Py_DECREF(o);
    if (v == -1 && PyErr_Occurred()) return -1;
    *out = v;
    return 0;
}

/* int.from_bytes(b[lo:hi], "big") with Python's slice clamping */
static uint64_t slice_int(const uint8_t *b, Py_ssize_t len, Py_ssize_t lo, Py_ssize_t hi) {
    uint64_t v = 0;
    if (hi > len) hi = len;
    for (Py_ssize_t i = lo; i < hi; i++) v = (v << 8) | b[i];
    return v;
}

/* protocols/tls._server_hello_is_tls13, byte for byte */
static int server_hello_is_tls13(const Rules *R, const uint8_t *b, Py_ssize_t len) {
    Py_ssize_t p = 34;
    if (p >= len) return 0;
    p += 1 + b[p];
    p += 3;
    if (p + 2 > len) return 0;
    Py_ssize_t end = p + 2 + (Py_ssize_t)slice_int(b, len, p, p + 2);
    p += 2;
    while (p + 4 <= end) {
        uint64_t etype = slice_int(b, len, p, p + 2), elen = slice_int(b, len, p + 2, p + 4);
        if (etype == (uint64_t)R->ext_supported_versions && elen == 2 && p + 6 <= len && b[p + 4] == R->tls13 >> 8 &&
            b[p + 5] == (R->tls13 & 0xFF))
            return 1;
        p += 4 + (Py_ssize_t)elen;
    }
    return 0;
}

/* protocols/tls.tls_record_handshakes: the handshake bytes of the whole TLS records at the start of p, copied to
 * hs (n bytes at least) with their length in *hl; *stopped when a record that is not a handshake ends the
 * walk. Returns 1 when p does not start with a TLS record at all. */
static int tls_handshakes(const Rules *R, const uint8_t *p, Py_ssize_t n, uint8_t *hs, Py_ssize_t *hl,
                          int *stopped) {
    Py_ssize_t q = 0;
    *hl = 0;
    *stopped = 0;
    while (q + 5 <= n) {
        int ct = p[q];
        if (!R->tls_ctype[ct] || p[q + 1] != R->tls_major) {
            *stopped = 1;
            return q == 0;
        }
        Py_ssize_t ln = be16(p + q + 3);
        if (q + 5 + ln > n) break;
        if (ct != R->tls_handshake) {
            *stopped = 1;
            break;
        }
        memcpy(hs + *hl, p + q + 5, ln);
        *hl += ln;
        q += 5 + ln;
    }
    return 0;
}

/* The server's first TLS flight, as protocols/tls.server_certificate_names sees it: 1 when it is done with no
 * names (not TLS, TLS 1.3, a flight without a certificate, a record that stops the walk), 0 when Python
 * must look (a certificate, or records still to come), -1 on error. */
static int server_flight_done(const Rules *R, const uint8_t *p, Py_ssize_t n) {
    uint8_t *hs = PyMem_Malloc(n > 0 ? n : 1);
    if (!hs) {
        PyErr_NoMemory();
        return -1;
    }
    Py_ssize_t hl = 0;
    int stopped = 0;
    int result = tls_handshakes(R, p, n, hs, &hl, &stopped) ? 1 /* not TLS */ : -2;
    for (Py_ssize_t m = 0; result == -2 && m + 4 <= hl;) {
        Py_ssize_t ln = ((Py_ssize_t)hs[m + 1] << 16) | (hs[m + 2] << 8) | hs[m + 3];
        if (m + 4 + ln > hl) break;
        int t = hs[m];
        if (t == R->tls_server_hello && server_hello_is_tls13(R, hs + m + 4, ln)) result = 1;
        else if (t == R->tls_certificate) result = 0; /* a certificate: its names are read in Python */
        else if (R->tls_after_cert[t]) result = 1;
        m += 4 + ln;
    }
    PyMem_Free(hs);
    if (result == -2) result = stopped ? 1 : 0;
    return result;
}

/* A whole ClientHello at the start of a client's first segment, as protocols/tls.client_hello_from_stream and
 * parse_client_hello_body read it: 1 found (sni and sni_len: the last server_name entry, or NULL; ech),
 * 2 not TLS or not a ClientHello (the reference raises PayloadError and stops looking), 0 incomplete (Python
 * keeps a stream), -1 on error. */
static int client_hello(const Rules *R, const uint8_t *p, Py_ssize_t n, const uint8_t **sni, Py_ssize_t *sni_len,
                        int *ech, uint8_t **owned) {
    uint8_t *hs = PyMem_Malloc(n > 0 ? n : 1);
    if (!hs) {
        PyErr_NoMemory();
        return -1;
    }
    *owned = hs;
    Py_ssize_t hl = 0;
    int stopped = 0;
    if (tls_handshakes(R, p, n, hs, &hl, &stopped)) return 2;
    if (hl >= 4) {
        if (hs[0] != R->tls_client_hello) return 2;
        Py_ssize_t need = ((Py_ssize_t)hs[1] << 16) | (hs[2] << 8) | hs[3];
        if (hl >= 4 + need) {
            const uint8_t *b = hs + 4;
            Py_ssize_t len = need, pos = 34;
            *sni = NULL;
            *sni_len = 0;
            *ech = 0;
            if (pos >= len) return 2; /* IndexError: truncated */
            pos += 1 + b[pos];
            pos += 2 + (Py_ssize_t)slice_int(b, len, pos, pos + 2);
            if (pos >= len) return 2;
            pos += 1 + b[pos];
            if (pos + 2 > len) return 1; /* no extensions */
            Py_ssize_t total = (Py_ssize_t)slice_int(b, len, pos, pos + 2);
            pos += 2;
            Py_ssize_t end = pos + total < len ? pos + total : len;
            while (pos + 4 <= end) {
                int etype = be16(b + pos);
                Py_ssize_t elen = be16(b + pos + 2);
                const uint8_t *d = b + pos + 4;
                Py_ssize_t dlen = (pos + 4 + elen < len ? pos + 4 + elen : len) - (pos + 4);
                if (dlen < 0) dlen = 0;
                pos += 4 + elen;
                if (etype == R->ext_sni && dlen >= 5) {
                    Py_ssize_t k = 2;
                    while (k + 3 <= dlen) {
                        int ntype = d[k];
                        Py_ssize_t nlen = be16(d + k + 1);
                        Py_ssize_t nend = k + 3 + nlen < dlen ? k + 3 + nlen : dlen;
                        const uint8_t *name = d + k + 3;
                        Py_ssize_t name_len = nend - (k + 3);
                        k += 3 + nlen;
                        if (ntype == R->sni_host_name && name_len > 0) {
                            *sni = name;
                            *sni_len = name_len;
                            break;
                        }
                    }
                } else if (etype == R->ext_ech || etype == R->ext_esni) {
                    *ech = etype == R->ext_esni || (dlen > 0 && d[0] == R->ech_outer);
                }
            }
            return 1;
        }
    }
    return stopped ? 2 : 0;
}

/* Engine.inspect for one payload of direction dir of flow slot. */
static int inspect(Core *c, int64_t slot, int dir, int proto, const uint8_t *p, Py_ssize_t n, int64_t seq) {
    Flow *f = &c->flows[slot];
    const Rules *R = &c->r;
    if (f->kind == K_DNS) {
        if (sync_counter(c) < 0) return -1;
        PyObject *b = PyBytes_FromStringAndSize((const char *)p, n);
        PyObject *r = b ? PyObject_CallOneArg(c->dns_payload, b) : NULL;
        Py_XDECREF(b);
        if (!r) return -1;
        Py_DECREF(r);
        return 0;
    }
    if (f->kind == K_TCP && f->va == NULL) {
        /* Engine._tcp's first test, before any stream exists: neither a TLS record nor an HTTP request */
        uint8_t b0 = p[0];
        int http = dir == 0 && R->http_first[b0];
        if (b0 != R->tls_handshake && !http) {
            /* a keep-alive probe's one byte counts against the budget only */
            if (n == 1) f->d[dir].ins -= 1;
            else f->d[dir].ins = 0;
            return 0;
        }
        if (dir == 0 && b0 == R->tls_handshake) {
            /* a client's first segment holding its whole ClientHello: read here, the name recorded by Python */
            const uint8_t *sni = NULL;
            Py_ssize_t sni_len = 0;
            int ech = 0;
            uint8_t *owned = NULL;
            int r = client_hello(R, p, n, &sni, &sni_len, &ech, &owned);
            int rc = 0;
            if (r == 2) {
                f->d[0].ins = 0;
            } else if (r == 1) {
                f->d[0].ins = 0;
                f->d[1].ins = R->tcp_server_inspect;
                if (sni || ech) {
                    PyObject *srv = addr_text(f->addr[1], f->alen);
                    PyObject *res = NULL;
                    if (srv) {
                        if (sni)
                            res = PyObject_CallFunction(c->core_hello, "Oy#Oi", srv, (const char *)sni, sni_len,
                                                        ech ? Py_True : Py_False, (int)f->resp_port);
                        else
                            res = PyObject_CallFunction(c->core_hello, "OOOi", srv, Py_None,
                                                        ech ? Py_True : Py_False, (int)f->resp_port);
                    }
                    Py_XDECREF(srv);
                    if (!res) rc = -1;
                    Py_XDECREF(res);
                }
            }
            PyMem_Free(owned);
            if (r != 0) return r < 0 ? -1 : rc;
        }
    }
    if (f->kind == K_UDP && f->va == NULL && dir == 0) {
        /* the reference's first test: neither a QUIC Initial (long header) nor a Google QUIC hello */
        int maybe_initial = n >= R->quic_min_initial && (p[0] & R->quic_long);
        if (!maybe_initial) {
            int marked = 0;
            Py_ssize_t within = n < R->gquic_within ? n : R->gquic_within;
            for (Py_ssize_t i = 0; i + R->gquic_mark_len <= within && !marked; i++)
                marked = memcmp(p + i, R->gquic_mark, R->gquic_mark_len) == 0;
            if (n < R->gquic_min || ((p[0] & R->quic_long) && p[1] != R->gquic_mark[0]) || !marked) {
                f->d[0].ins = 0;
                return 0;
            }
        }
    }
    if (f->kind == K_TCP && dir == 1 && !f->srv_py) {
        /* the server's first flight after a ClientHello, no stream yet: TLS 1.3 shows no certificate */
        int done = p[0] != R->tls_handshake ? 1 : n > R->stream_limit ? 0 : server_flight_done(R, p, n);
        if (done < 0) return -1;
        if (done) {
            f->d[1].ins = 0;
            return 0;
        }
    }
    if (f->va == NULL && make_view(c, f) < 0) return -1;
    f = &c->flows[slot];
    if (dir == 1) f->srv_py = 1;
    if (set_ins(f->va, f->d[0].ins) < 0 || set_ins(f->vb, f->d[1].ins) < 0) return -1;
    if (sync_counter(c) < 0) return -1;
    PyObject *b = PyBytes_FromStringAndSize((const char *)p, n);
    if (!b) return -1;
    PyObject *r;
    if (proto == R->tcp)
        r = PyObject_CallFunction(c->inspect, "OiOL", dir ? f->vb : f->va, proto, b, (long long)seq);
    else r = PyObject_CallFunction(c->inspect, "OiO", dir ? f->vb : f->va, proto, b);
    Py_DECREF(b);
    if (!r) return -1;
    Py_DECREF(r);
    f = &c->flows[slot];
    if (get_ins(f->va, &f->d[0].ins) < 0 || get_ins(f->vb, &f->d[1].ins) < 0) return -1;
    return 0;
}

/* Engine.fragment: the whole IP payload once every piece is there, else NULL (with no error set). */
static PyObject *fragment(Core *c, PyObject *fid, int64_t off, int more, const uint8_t *p, Py_ssize_t n) {
    PyObject *piece = PyBytes_FromStringAndSize((const char *)(n > 0 ? p : (const uint8_t *)""), n > 0 ? n : 0);
    if (!piece) return NULL;
    PyObject *r = PyObject_CallFunction(c->fragment, "OLOOO", fid, (long long)off, more ? Py_True : Py_False, piece,
                                        Py_None);
    Py_DECREF(piece);
    if (r == Py_None) {
        Py_DECREF(r);
        return NULL;
    }
    return r;
}

static int inspect_whole(Core *c, int64_t slot, int dir, PyObject *whole) {
    if (!PyBytes_Check(whole)) return 0;
    Py_ssize_t n = PyBytes_GET_SIZE(whole);
    if (n > 8) return inspect(c, slot, dir, c->r.udp, (const uint8_t *)PyBytes_AS_STRING(whole) + 8, n - 8, 0);
    return 0;
}

/* ------------------------------------------------------------------ one frame */

/* frame.pcapdroid_app */
static PyObject *pcapdroid_app(const Rules *R, const uint8_t *buf, Py_ssize_t end) {
    const uint8_t *t = buf + end - R->pd_trailer;
    uint32_t magic;
    memcpy(&magic, t, 4);
    if (magic != R->pd_magic32) return NULL;
    int32_t uid = (int32_t)be32(t + 4);
    Py_ssize_t ln = 0;
    while (ln < 20 && t[8 + ln]) ln++;
    PyObject *name = PyUnicode_DecodeUTF8((const char *)t + 8, ln, "replace");
    if (!name) return NULL;
    if (PyUnicode_GET_LENGTH(name) == 0) {
        Py_DECREF(name);
        name = PyUnicode_FromFormat("uid:%d", (int)uid);
    }
    return name;
}

#define FAIL(x)                                                                                                        \
    do {                                                                                                               \
        if ((x) < 0) return -1;                                                                                        \
    } while (0)

static inline const LinkRule *link_of(const Rules *R, int lt) {
    if (lt >= 0 && lt < LINKS_DIRECT) return R->link_at[lt] ? &R->links[R->link_at[lt] - 1] : NULL;
    for (int i = 0; i < R->nlinks; i++)
        if (R->links[i].lt == lt) return &R->links[i];
    return NULL;
}

static inline int in_map(const uint8_t *map, int x) { return (map[x >> 3] >> (x & 7)) & 1; }

static inline int is_broadcast(const Rules *R, const uint8_t *p) {
    uint32_t hi;
    uint16_t lo;
    memcpy(&hi, p, 4);
    memcpy(&lo, p + 4, 2);
    return hi == R->bcast_hi && lo == R->bcast_lo;
}


/* ------------------------------------------------------------------ link headers and tunnels (frame.py's) */

/* frame.after_ethertype: *p is where the IP header starts; returns its version, 0 not IP, -1 cut short */
static int after_ethertype(const Rules *R, const uint8_t *buf, Py_ssize_t *pp, Py_ssize_t end, int et) {
    Py_ssize_t p = *pp;
    int ver;
    while (in_map(R->vlan_map, et)) {
        if (p + R->vlan_len > end) return -1;
        et = be16(buf + p + 2); /* after the tag control field */
        p += R->vlan_len;
    }
    if (et == R->cmd) {
        if (p + R->cmd_len > end) return -1;
        et = be16(buf + p + R->cmd_len - 2);
        p += R->cmd_len;
    }
    if (et == R->et_ipv4) ver = 4;
    else if (et == R->et_ipv6) ver = 6;
    else if (et == R->pppoe) {
        if (p + R->pppoe_len + 2 > end) return -1;
        int pr = be16(buf + p + R->pppoe_len);
        p += R->pppoe_len + 2;
        ver = pr == R->ppp4 ? 4 : pr == R->ppp6 ? 6 : 0;
    } else if (in_map(R->mpls_map, et)) {
        while (p + R->mpls_len <= end && !(buf[p + 2] & 1)) p += R->mpls_len;
        p += R->mpls_len;
        if (p >= end) return -1;
        ver = buf[p] >> 4;
    } else
        return 0;
    *pp = p;
    return ver;
}

static int after_ethernet(const Rules *R, const uint8_t *buf, Py_ssize_t *pp, Py_ssize_t end) {
    Py_ssize_t p = *pp;
    if (p + 14 > end) return -1;
    *pp = p + 14;
    return after_ethertype(R, buf, pp, end, be16(buf + p + 12));
}

static int after_ppp(const Rules *R, const uint8_t *buf, Py_ssize_t *pp, Py_ssize_t end) {
    Py_ssize_t p = *pp;
    if (p + 2 <= end && buf[p] == R->ppp_ac[0] && buf[p + 1] == R->ppp_ac[1]) p += 2;
    if (p >= end) return -1;
    if (buf[p] & 1) {
        *pp = p + 1;
        return buf[p] == R->ppp4 ? 4 : buf[p] == R->ppp6 ? 6 : 0;
    }
    if (p + 2 > end) return -1;
    int pr = be16(buf + p);
    *pp = p + 2;
    return pr == R->ppp4 ? 4 : pr == R->ppp6 ? 6 : 0;
}

static int after_wlan(const Rules *R, const uint8_t *buf, Py_ssize_t *pp, Py_ssize_t end) {
    Py_ssize_t p = *pp;
    if (p + R->wlan_header > end) return -1;
    int fc0 = buf[p], fc1 = buf[p + 1];
    if (((fc0 >> 2) & 3) != R->wlan_data || (fc0 & 0x40) || (fc1 & R->wlan_protected)) return 0;
    Py_ssize_t q = p + R->wlan_header;
    if ((fc1 & 3) == 3) q += R->wlan_four;
    if (fc0 & 0x80) {
        q += R->wlan_qos;
        if (fc1 & 0x80) q += R->wlan_ht;
    }
    if (q + R->llc_snap_len > end) return -1;
    if (memcmp(buf + q, R->llc_snap, 3) != 0) return 0;
    *pp = q + R->llc_snap_len;
    return after_ethertype(R, buf, pp, end, be16(buf + q + 6));
}

/* frame.open_gre: *kind is the tunnel */
static int open_gre(const Rules *R, const uint8_t *buf, Py_ssize_t *pp, Py_ssize_t end, int *kind) {
    Py_ssize_t q = *pp;
    *kind = TU_GRE;
    if (q + 4 > end) return -1;
    int f0 = buf[q], f1 = buf[q + 1];
    if (!R->gre_version[f1 & 7] || (f0 & 0x40)) return 0;
    int pt = be16(buf + q + 2);
    Py_ssize_t h = q + 4 + ((f0 & 0x80) ? 4 : 0) + ((f0 & 0x20) ? 4 : 0) + ((f0 & 0x10) ? 4 : 0);
    if (f1 & 0x80) h += 4;
    if (h > end) return -1;
    *pp = h;
    if (pt == R->et_ipv4) return 4;
    if (pt == R->et_ipv6) return 6;
    if (pt == R->gre_teb) return after_ethernet(R, buf, pp, end);
    if (pt == R->gre_erspan2) {
        *kind = TU_ERSPAN;
        if (f0 & 0x10) *pp = h + R->erspan2_len;
        return after_ethernet(R, buf, pp, end);
    }
    if (pt == R->gre_erspan3) {
        *kind = TU_ERSPAN;
        if (h + R->erspan3_len > end) return -1;
        if ((buf[h + 10] >> 2) & 0x1F) return 0;
        *pp = h + R->erspan3_len + ((buf[h + 11] & 1) ? R->erspan3_sub : 0);
        return after_ethernet(R, buf, pp, end);
    }
    for (int i = 0; i < R->ngre_wlan; i++)
        if (pt == R->gre_wlan[i]) return after_wlan(R, buf, pp, end);
    if (pt == R->gre_ppp) {
        if (h >= end) return -1;
        return after_ppp(R, buf, pp, end);
    }
    return after_ethertype(R, buf, pp, end, pt);
}

/* frame.open_udp */
static int open_udp(const Rules *R, const uint8_t *buf, Py_ssize_t *pp, Py_ssize_t end, int kind) {
    Py_ssize_t u = *pp;
    if (kind == TU_VXLAN) {
        if (u + R->vxlan_len > end || !(buf[u] & 0x08)) return 0;
        *pp = u + R->vxlan_len;
        return after_ethernet(R, buf, pp, end);
    }
    if (kind == TU_GENEVE) {
        if (u + R->geneve_len > end || (buf[u] >> 6)) return 0;
        *pp = u + R->geneve_len + ((buf[u] & 0x3F) << 2);
        int pt = be16(buf + u + 2);
        if (pt == R->gre_teb) return after_ethernet(R, buf, pp, end);
        return after_ethertype(R, buf, pp, end, pt);
    }
    if (kind == TU_GTP_U) {
        if (u + R->gtp_len > end || buf[u] >> 4 != 3 || buf[u + 1] != R->gtp_gpdu) return 0;
        Py_ssize_t h = u + R->gtp_len;
        if (buf[u] & 7) {
            h += 4;
            if (h > end) return -1;
            int nxt = buf[h - 1];
            while (nxt) {
                if (h >= end) return -1;
                if (!buf[h]) return 0;
                h += (Py_ssize_t)buf[h] << 2;
                if (h > end) return -1;
                nxt = buf[h - 1];
            }
        }
        if (h >= end) return -1;
        int ver = buf[h] >> 4;
        *pp = h;
        return ver == 4 || ver == 6 ? ver : 0;
    }
    if (kind == TU_TEREDO) {
        Py_ssize_t h = u;
        if (h + 2 <= end && buf[h] == 0 && buf[h + 1] == 1) {
            if (h + 4 > end) return -1;
            h += R->teredo_auth + buf[h + 2] + buf[h + 3];
        }
        if (h + 2 <= end && buf[h] == 0 && buf[h + 1] == 0) h += R->teredo_origin;
        if (h + 40 > end || buf[h] >> 4 != 6 || h + 40 + be16(buf + h + 4) > end) return 0;
        *pp = h;
        return 6;
    }
    /* L2TP */
    if (u + 6 > end) return 0;
    int f0 = buf[u], f1 = buf[u + 1];
    if ((f0 & 0x80) || (f1 & 0x0F) != R->l2tp_version) return 0;
    Py_ssize_t h = u + 2 + ((f0 & 0x40) ? 2 : 0) + 4 + ((f0 & 0x08) ? 4 : 0);
    if (f0 & 0x02) {
        if (h + 2 > end) return -1;
        h += 2 + be16(buf + h);
    }
    if (h >= end) return -1;
    *pp = h;
    return after_ppp(R, buf, pp, end);
}

/* engine.tunnel: counted in the core's own table, handed over at finish() */
static int tunnel(Core *c, int kind, const uint8_t *src, int alen, int64_t orig, int opened) {
    const uint8_t *a = src, *b = src + alen;
    if (memcmp(b, a, alen) < 0) {
        a = src + alen;
        b = src;
    }
    Tun *t = NULL;
    if (c->lasttun >= 0) {
        Tun *l = &c->tun[c->lasttun];
        if (l->kind == kind && l->alen == alen && !memcmp(l->a, a, alen) && !memcmp(l->b, b, alen)) t = l;
    }
    for (int64_t i = 0; !t && i < c->ntun; i++) {
        Tun *l = &c->tun[i];
        if (l->kind == kind && l->alen == alen && !memcmp(l->a, a, alen) && !memcmp(l->b, b, alen)) {
            t = l;
            c->lasttun = i;
        }
    }
    if (!t && c->ntun >= c->r.tunnels_max) {
        /* past the cap: the pair's packets are summed under the kind's empty entry */
        for (int64_t i = 0; !t && i < c->ntun; i++)
            if (c->tun[i].kind == kind && c->tun[i].alen == 0) t = &c->tun[i];
        alen = 0;
    }
    if (!t) {
        if (c->ntun == c->captun) {
            int64_t cap = c->captun ? c->captun * 2 : 8;
            Tun *n = PyMem_Realloc(c->tun, (size_t)cap * sizeof(Tun));
            if (!n) {
                PyErr_NoMemory();
                return -1;
            }
            c->tun = n;
            c->captun = cap;
        }
        t = &c->tun[c->ntun++];
        memset(t, 0, sizeof *t);
        t->kind = (uint8_t)kind;
        t->alen = (uint8_t)alen;
        if (alen) {
            memcpy(t->a, a, alen);
            memcpy(t->b, b, alen);
        }
    }
    if (opened) {
        t->pk += 1;
        t->by += orig;
    } else {
        t->upk += 1;
        t->uby += orig;
    }
    return 0;
}

/* frame.make_handler's handle(), step by step */
static int frame(Core *c, const uint8_t *buf, Py_ssize_t off, Py_ssize_t incl, int64_t orig,
                 double ts, int lt) {
    const Rules *R = &c->r;
    Py_ssize_t end = off + incl;
    c->count++;
    if (!(c->count & c->mask)) FAIL(sweep(c, ts));
    Py_ssize_t p;
    int ver;
    /* ---- link layer: p is where the IP header starts, ver its version (0: not IP) */
    const LinkRule *link = link_of(R, lt);
    if (!link) return NOT_IP;
    if (link->framing == F_PKTAP) {
        if (incl < link->header) return TRUNCATED;
        int64_t plen = rd32(buf + off, 0);
        const LinkRule *inner = link_of(R, (int)rd32(buf + off + 4, 0));
        if (!inner || inner->framing == F_PKTAP || plen < link->header) return NOT_IP;
        if (plen > incl) return TRUNCATED;
        off += plen;
        incl -= plen;
        link = inner;
    }
    int eth = link->framing == F_ETHERNET;
    if (eth) {
        if (incl < link->header) return TRUNCATED;
        p = off + link->header;
        int et = be16(buf + off + link->type_at);
        if (et == R->et_ipv4) ver = 4;
        else if (et == R->et_ipv6) ver = 6;
        else {
            ver = after_ethertype(R, buf, &p, end, et);
            if (ver < 0) return TRUNCATED;
        }
    } else if (link->framing == F_RAW) {
        p = off + link->header;
        if (incl < link->header + 1) return TRUNCATED;
        ver = buf[p] >> 4;
    } else if (link->framing == F_COOKED) {
        if (incl < link->header) return TRUNCATED;
        int et = be16(buf + off + link->type_at);
        p = off + link->header;
        ver = et == R->et_ipv4 ? 4 : et == R->et_ipv6 ? 6 : 0;
    } else if (link->framing == F_FAMILY) { /* the address family, in host order: the larger of its first and last byte */
        if (incl < link->header) return TRUNCATED;
        p = off + link->header;
        ver = R->af_version[buf[off] > buf[off + 3] ? buf[off] : buf[off + 3]];
    } else {
        if (incl < link->header + 1) return TRUNCATED;
        p = off;
        if (link->framing == F_PPP) ver = after_ppp(R, buf, &p, end);
        else if (link->framing == F_WLAN) ver = after_wlan(R, buf, &p, end);
        else if (link->framing == F_RADIOTAP) {
            p = off + (buf[off + 2] | (buf[off + 3] << 8));
            ver = after_wlan(R, buf, &p, end);
        } else { /* NFLOG: the packet is the value of one record */
            p = off + link->header;
            ver = 0;
            while (p + 4 <= end) {
                int tlen = buf[p] | (buf[p + 1] << 8);
                if (tlen < 4) break;
                if ((buf[p + 2] | ((buf[p + 3] & 0x7F) << 8)) == R->nflog_payload) {
                    p += 4;
                    ver = p < end ? buf[p] >> 4 : -1;
                    break;
                }
                p += (tlen + R->nflog_align - 1) & -R->nflog_align;
            }
        }
        if (ver < 0) return TRUNCATED;
    }
    /* ---- network layer; a tunnel's inner packet is walked again from here, inside its outer IP packet */
    int64_t frag_off;
    int more;
    uint8_t fid[40];
    int fidlen;
    Py_ssize_t l4, ab, ip_end;
    int64_t iplen;
    int proto, alen;
    int depth = 0;
    for (;;) {
        frag_off = 0;
        more = 0;
        fidlen = 0;
        if (ver == 4) {
            if (p + 20 > end) return TRUNCATED;
            int vihl = buf[p];
            if (vihl == 0x45) l4 = p + 20;
            else {
                int ihl = (vihl & 15) << 2;
                if (vihl >> 4 != 4 || ihl < 20) return NOT_IP;
                l4 = p + ihl;
            }
            int64_t tot = be16(buf + p + 2);
            if (tot == 0) tot = end - p;
            else if (tot < l4 - p) return NOT_IP;
            iplen = tot;
            ip_end = p + tot;
            proto = buf[p + 9];
            ab = p + 12;
            alen = 4;
            if ((buf[p + 6] & 0x3F) || buf[p + 7]) {
                int fo = be16(buf + p + 6);
                frag_off = (int64_t)(fo & 0x1FFF) << 3;
                more = (fo & 0x2000) != 0;
                memcpy(fid, buf + ab, 8);
                memcpy(fid + 8, buf + p + 4, 2);
                fid[10] = (uint8_t)proto;
                fidlen = 11;
            }
        } else if (ver == 6) {
            if (p + 40 > end) return TRUNCATED;
            if (buf[p] >> 4 != 6) return NOT_IP;
            int64_t plen = be16(buf + p + 4);
            if (plen == 0) plen = end - p - 40;
            iplen = 40 + plen;
            ip_end = p + iplen;
            proto = buf[p + 6];
            ab = p + 8;
            alen = 16;
            l4 = p + 40;
            int ext = R->v6ext[proto];
            while (ext) {
                if (l4 + 8 > end) {
                    proto = R->no_next;
                    break;
                }
                if (ext == X_FRAGMENT) {
                    int fo = be16(buf + l4 + 2);
                    frag_off = fo & 0xFFF8;
                    more = fo & 1;
                    memcpy(fid, buf + ab, 32);
                    memcpy(fid + 32, buf + l4 + 4, 4);
                    fid[36] = buf[l4];
                    fidlen = 37;
                    proto = buf[l4];
                    l4 += 8;
                    if (frag_off) break;
                } else if (ext == X_AH) {
                    int nx = buf[l4];
                    l4 = l4 + ((buf[l4 + 1] + 2) << 2);
                    proto = nx;
                } else {
                    int nx = buf[l4];
                    l4 = l4 + ((buf[l4 + 1] + 1) << 3);
                    proto = nx;
                }
                ext = R->v6ext[proto];
            }
        } else
            return NOT_IP;
        /* ---- tunnels: a whole (unfragmented) outer packet holding a packet the walk can read */
        int kind, qv;
        Py_ssize_t q, inner_end = ip_end < end ? ip_end : end;
        if (frag_off || more) {
            if (proto == R->gre || R->ip_in_ip[proto]) {
                FAIL(tunnel(c, proto == R->gre ? TU_GRE : TU_IP_IN_IP, buf + ab, alen, orig, 0));
            } else if (proto == R->udp && !frag_off && l4 + 4 <= end) {
                kind = R->tunnel_port[be16(buf + l4 + 2)];
                if (!kind) kind = R->tunnel_port[be16(buf + l4)];
                if (kind) FAIL(tunnel(c, kind, buf + ab, alen, orig, 0));
            }
            break;
        }
        if (proto == R->udp) {
            if (l4 + 8 > end) break;
            kind = R->tunnel_port[be16(buf + l4 + 2)];
            if (!kind) kind = R->tunnel_port[be16(buf + l4)];
            if (!kind) break;
            q = l4 + 8;
            qv = open_udp(R, buf, &q, inner_end, kind);
            if (!qv) break;
        } else if (proto == R->gre) {
            q = l4;
            qv = open_gre(R, buf, &q, inner_end, &kind);
        } else if (R->ip_in_ip[proto]) {
            kind = TU_IP_IN_IP;
            q = l4;
            qv = l4 < inner_end ? buf[l4] >> 4 : -1;
        } else
            break;
        if (depth == R->tunnel_depth || (qv != 4 && qv != 6)) {
            FAIL(tunnel(c, kind, buf + ab, alen, orig, 0));
            break;
        }
        FAIL(tunnel(c, kind, buf + ab, alen, orig, 1));
        depth++;
        p = q;
        ver = qv;
        end = inner_end;
    }
    int cut = ip_end > end;
    if (cut) ip_end = end;
    const uint8_t *src = buf + ab, *dst = buf + ab + alen;
    int l2b = !depth && eth && is_broadcast(R, buf + off);
    int64_t ref;
    int table = proto == R->tcp ? T_TCP : proto == R->udp ? T_UDP : T_OTHER;
    PyObject *fidobj = NULL;
    if (fidlen) {
        fidobj = PyBytes_FromStringAndSize((const char *)fid, fidlen);
        if (!fidobj) return -1;
    }
    int rc = -1;
    if (frag_off) {
        /* a later fragment: its datagram's owner flow, if the first fragment was seen and it is still live */
        ref = -1;
        PyObject *own = PyDict_GetItemWithError(c->frag_owner, fidobj);
        if (own) {
            if (PyTuple_Check(own) && PyTuple_GET_SIZE(own) == 3 && PyTuple_GET_ITEM(own, 0) == (PyObject *)c) {
                int64_t r = PyLong_AsLongLong(PyTuple_GET_ITEM(own, 1));
                uint64_t serial = PyLong_AsUnsignedLongLong(PyTuple_GET_ITEM(own, 2));
                if (PyErr_Occurred()) goto done;
                if (alive(c, r >> 1, serial)) ref = r;
            }
        } else if (PyErr_Occurred())
            goto done;
        if (ref < 0) {
            uint16_t w0 = table == T_OTHER ? (uint16_t)proto : 0;
            uint64_t h = key_hash(table, alen, src, dst, w0, 0);
            ref = tab_get(c, h, table, alen, src, dst, w0, 0);
            if (ref < 0) {
                ref = new_flow(c, table, alen, src, dst, w0, 0, proto, 0, 0, 0, ts, l2b, NULL, h);
                if (ref < 0) goto done;
            }
            if (proto == R->udp && !cut) {
                PyObject *w = fragment(c, fidobj, frag_off, more, buf + l4, ip_end - l4);
                if (!w && PyErr_Occurred()) goto done;
                Py_XDECREF(w);
            }
        } else if (c->flows[ref >> 1].d[ref & 1].ins && proto == R->udp && !cut) {
            PyObject *w = fragment(c, fidobj, frag_off, more, buf + l4, ip_end - l4);
            if (!w) {
                if (PyErr_Occurred()) goto done;
            } else {
                int e = inspect_whole(c, ref >> 1, (int)(ref & 1), w);
                Py_DECREF(w);
                if (e < 0) goto done;
            }
        }
    } else if (proto == R->tcp || proto == R->udp) {
        uint16_t sport = 0, dport = 0;
        if (l4 + 4 <= end) {
            sport = be16(buf + l4);
            dport = be16(buf + l4 + 2);
        }
        uint64_t h = key_hash(table, alen, src, dst, sport, dport);
        ref = tab_get(c, h, table, alen, src, dst, sport, dport);
        if (ref < 0) {
            int flags = proto == R->tcp && l4 + 14 <= end ? buf[l4 + 13] : 0;
            PyObject *app = NULL;
            if (!depth && eth && incl >= R->pd_min_frame) {
                PyObject *a = pcapdroid_app(R, buf, end);
                if (a) {
                    app = intern_app(c, a);
                    Py_DECREF(a);
                    if (!app) goto done;
                } else if (PyErr_Occurred())
                    goto done;
            }
            ref = new_flow(c, table, alen, src, dst, sport, dport, proto, sport, dport, flags, ts, l2b, app, h);
            if (ref < 0) goto done;
        }
        if (more) {
            PyObject *own = Py_BuildValue("(OLK)", (PyObject *)c, (long long)ref,
                                          (unsigned long long)c->flows[ref >> 1].serial);
            if (!own || PyDict_SetItem(c->frag_owner, fidobj, own) < 0) {
                Py_XDECREF(own);
                goto done;
            }
            Py_DECREF(own);
        }
        int64_t slot = ref >> 1;
        int dir = (int)(ref & 1);
        if (c->flows[slot].d[dir].ins) {
            if (proto == R->tcp) {
                if (l4 + 20 <= ip_end) {
                    Py_ssize_t hl = (buf[l4 + 12] >> 4) << 2;
                    if (l4 + hl < ip_end && !more) {
                        if (inspect(c, slot, dir, R->tcp, buf + l4 + hl, ip_end - l4 - hl, be32(buf + l4 + 4)) < 0)
                            goto done;
                    }
                }
            } else if (l4 + 8 <= ip_end && !cut) {
                if (more) {
                    PyObject *w = fragment(c, fidobj, 0, 1, buf + l4, ip_end - l4);
                    if (!w) {
                        if (PyErr_Occurred()) goto done;
                    } else {
                        int e = inspect_whole(c, slot, dir, w);
                        Py_DECREF(w);
                        if (e < 0) goto done;
                    }
                } else {
                    Py_ssize_t ulen = be16(buf + l4 + 4);
                    Py_ssize_t u_end = ulen >= 8 && l4 + ulen < ip_end ? l4 + ulen : ip_end;
                    if (u_end > l4 + 8) {
                        if (inspect(c, slot, dir, R->udp, buf + l4 + 8, u_end - l4 - 8, 0) < 0) goto done;
                    }
                }
            }
        }
        if (proto == R->tcp && l4 + 14 <= end && (buf[l4 + 13] & (R->tcp_fin | R->tcp_rst)) && !c->flows[slot].fin) {
            if (mark_finished(c, slot) < 0) goto done;
        }
    } else {
        uint16_t w0 = (uint16_t)proto;
        uint64_t h = key_hash(T_OTHER, alen, src, dst, w0, 0);
        ref = tab_get(c, h, T_OTHER, alen, src, dst, w0, 0);
        if (ref < 0) {
            int icmp_type = (proto == R->icmp || proto == R->icmpv6) && l4 < end ? buf[l4] : 0;
            ref = new_flow(c, T_OTHER, alen, src, dst, w0, 0, proto, icmp_type, 0, 0, ts, l2b, NULL, h);
            if (ref < 0) goto done;
        }
        if (more) {
            PyObject *own = Py_BuildValue("(OLK)", (PyObject *)c, (long long)ref,
                                          (unsigned long long)c->flows[ref >> 1].serial);
            if (!own || PyDict_SetItem(c->frag_owner, fidobj, own) < 0) {
                Py_XDECREF(own);
                goto done;
            }
            Py_DECREF(own);
        }
    }
    /* ---- accounting */
    {
        Flow *f = &c->flows[ref >> 1];
        int dir = (int)(ref & 1);
        Dir *d = &f->d[dir];
        d->pk += 1;
        d->by += orig;
        d->ib += iplen;
        d->lt = ts;
        double b = py_floordiv(ts, c->bucket);
        if (b == d->bk) {
            d->bb += orig;
        } else {
            if (d->bb) {
                if (!f->timeline && !(f->timeline = PyDict_New())) goto done;
                if (timeline_add(f->timeline, d->bk, dir ? 0 : d->bb, dir ? d->bb : 0) < 0) goto done;
            }
            d->bk = b;
            d->bb = orig;
        }
    }
    rc = COUNTED;
done:
    Py_XDECREF(fidobj);
    return rc;
}

/* ------------------------------------------------------------------ export */

static void clear_pairs(Core *c);

static int finish(Core *c) {
    while (c->live_head >= 0) FAIL(fold(c, c->live_head));
    c->nfin = 0;
    /* every flow is folded: the flow slots and the pairs' index are not needed to hand the pairs over, and
       their memory goes back before the host's copy of the pairs grows (alive() sees no slot) */
    PyMem_Free(c->flows);
    c->flows = NULL;
    c->nflows = c->capflows = 0;
    c->freehead = -1;
    PyMem_Free(c->ptab);
    c->ptab = NULL;
    c->ptabcap = 0;
    /* handed over in order, an eighth at a time, the table shrinking behind: the pairs are not all held
       twice, here and in the host */
    int64_t step = c->npairs / 8 + 1024;
    while (c->npairs > 0) {
        int64_t k = c->npairs < step ? c->npairs : step;
        for (int64_t i = 0; i < k; i++) {
            Pair *p = &c->pairs[i];
            PyObject *it = addr_text(p->init, p->alen);
            PyObject *rt = it ? addr_text(p->resp, p->alen) : NULL;
            PyObject *r = NULL;
            /* the ports as a dictionary, or a tuple of the one port key (an empty tuple: no flow) */
            PyObject *ports = p->ports ? (Py_INCREF(p->ports), p->ports)
                              : p->first_proto < 0 ? PyTuple_New(0)
                              : Py_BuildValue("((ii))", (int)p->first_proto, (int)p->first_port);
            if (rt && ports) {
                r = PyObject_CallFunction(c->merge_pair, "OOOLLLLLLLddOOO", it, rt, p->app ? p->app : Py_None,
                                          (long long)p->flows, (long long)p->pks, (long long)p->pkr,
                                          (long long)p->bys, (long long)p->byr, (long long)p->ibs,
                                          (long long)p->ibr, p->first, p->last, ports,
                                          p->l2b ? Py_True : Py_False, p->timeline ? p->timeline : Py_None);
            }
            Py_XDECREF(ports);
            Py_XDECREF(it);
            Py_XDECREF(rt);
            Py_CLEAR(p->ports);
            Py_CLEAR(p->timeline);
            Py_CLEAR(p->app);
            if (!r) return -1;
            Py_DECREF(r);
        }
        c->npairs -= k;
        memmove(c->pairs, c->pairs + k, sizeof(Pair) * (size_t)c->npairs);
        if (c->npairs < c->cappairs / 2) {
            int64_t cap = c->npairs > 256 ? c->npairs : 256;
            Pair *np = PyMem_Realloc(c->pairs, sizeof(Pair) * (size_t)cap);
            if (np) { /* (a failed shrink keeps the larger table) */
                c->pairs = np;
                c->cappairs = cap;
            }
        }
    }
    for (int64_t i = 0; i < c->ntun; i++) {
        Tun *t = &c->tun[i];
        PyObject *r = PyObject_CallFunction(c->merge_tunnel, "iy#y#LLLL", (int)t->kind, (const char *)t->a,
                                            (Py_ssize_t)t->alen, (const char *)t->b, (Py_ssize_t)t->alen,
                                            (long long)t->pk, (long long)t->by, (long long)t->upk, (long long)t->uby);
        if (!r) return -1;
        Py_DECREF(r);
    }
    c->ntun = 0;
    c->lasttun = -1;
    if (sync_counter(c) < 0) return -1;
    PyObject *s = PyLong_FromLongLong(c->sweeps);
    if (!s || PyObject_SetAttrString(c->engine, "sweeps", s) < 0) {
        Py_XDECREF(s);
        return -1;
    }
    Py_DECREF(s);
    return 0;
}

/* ------------------------------------------------------------------ the Python type */

static int load_count(Core *c) {
    long long v = PyLong_AsLongLong(PyList_GET_ITEM(c->counter, 0));
    if (v == -1 && PyErr_Occurred()) return -1;
    c->count = v;
    return 0;
}

static PyObject *Core_frame(Core *c, PyObject *args) {
    Py_buffer b;
    Py_ssize_t off, incl;
    long long orig;
    double ts;
    int lt;
    if (!PyArg_ParseTuple(args, "y*nnLdi", &b, &off, &incl, &orig, &ts, &lt)) return NULL;
    if (off < 0 || incl < 0 || off + incl > b.len) {
        PyBuffer_Release(&b);
        PyErr_SetString(PyExc_ValueError, "frame outside the buffer");
        return NULL;
    }
    int r = load_count(c);
    if (r == 0) r = frame(c, (const uint8_t *)b.buf, off, incl, orig, ts, lt);
    PyBuffer_Release(&b);
    if (r < 0 || sync_counter(c) < 0) return NULL;
    return PyLong_FromLong(r);
}

/* pcap records in a row from off. run: records capturing nothing seen in a row before this call (a run of
 * EMPTY_RUN_MAX stops the walk at the record that completes it). Returns (offset, records, stop, run), stop
 * 0: the buffer's end or a record cut by it, 1: an oversized record header, 2: the run of empty records. */
static PyObject *Core_pcap(Core *c, PyObject *args) {
    Py_buffer b;
    Py_ssize_t off;
    int big, lt;
    double mul;
    long long run;
    if (!PyArg_ParseTuple(args, "y*npdiL", &b, &off, &big, &mul, &lt, &run)) return NULL;
    const uint8_t *buf = b.buf;
    Py_ssize_t n = b.len;
    long long records = 0;
    int stop = 0;
    if (off < 0) off = n;
    if (load_count(c) < 0) goto fail;
    while (off <= n - 16) {
        uint32_t sec = rd32(buf + off, big), frac = rd32(buf + off + 4, big);
        uint32_t incl = rd32(buf + off + 8, big), orig = rd32(buf + off + 12, big);
        if (incl > c->r.max_record) {
            stop = 1;
            break;
        }
        Py_ssize_t nxt = off + 16 + (Py_ssize_t)incl;
        if (nxt > n) break;
        if (incl) {
            run = 0;
        } else if (++run >= c->r.empty_run_max) {
            stop = 2;
            break;
        }
        if (frame(c, buf, off + 16, incl, orig, (double)sec + (double)frac * mul, lt) < 0) goto fail;
        records++;
        off = nxt;
    }
    PyBuffer_Release(&b);
    if (sync_counter(c) < 0) return NULL;
    return Py_BuildValue("nLiL", off, records, stop, run);
fail:
    PyBuffer_Release(&b);
    return NULL;
}

/* Enhanced packet blocks in a row; stops at anything else (another block type, a block that is cut,
 * malformed or inconsistent, an empty one that would complete a run of EMPTY_RUN_MAX), which the Python
 * reader then handles. ifaces: ((linktype, mul, offset, supported), ...); run: empty packet blocks seen in a
 * row before this call. Returns (offset, blocks, last timestamp or None, run). */
static PyObject *Core_pcapng(Core *c, PyObject *args) {
    Py_buffer b;
    Py_ssize_t off;
    int big;
    PyObject *ifaces;
    long long run;
    if (!PyArg_ParseTuple(args, "y*npO!L", &b, &off, &big, &PyTuple_Type, &ifaces, &run)) return NULL;
    const uint8_t *buf = b.buf;
    Py_ssize_t n = b.len;
    Py_ssize_t ni = PyTuple_GET_SIZE(ifaces);
    int lts[64];
    double muls[64], offs[64];
    int sup[64];
    long long blocks = 0;
    double last = 0;
    int have_last = 0;
    if (off < 0) off = n;
    if (ni > 64) ni = 64; /* more interfaces than this: later ones go through the Python reader */
    for (Py_ssize_t i = 0; i < ni; i++) {
        PyObject *t = PyTuple_GET_ITEM(ifaces, i);
        long long o;
        if (!PyArg_ParseTuple(t, "idLp", &lts[i], &muls[i], &o, &sup[i])) goto fail;
        offs[i] = (double)o;
    }
    if (load_count(c) < 0) goto fail;
    while (off <= n - 12) {
        uint32_t bt = rd32(buf + off, big), bl = rd32(buf + off + 4, big);
        if (bt != c->r.pcapng_epb || bl < 32 || (bl & 3) || bl > c->r.max_block || (Py_ssize_t)bl > n - off) break;
        uint32_t iid = rd32(buf + off + 8, big), hi = rd32(buf + off + 12, big), lo = rd32(buf + off + 16, big);
        uint32_t incl = rd32(buf + off + 20, big), orig = rd32(buf + off + 24, big);
        if (iid >= (uint32_t)ni || incl > bl - 32 || incl > c->r.max_record) break;
        if (!incl && run + 1 >= c->r.empty_run_max) break;
        run = incl ? 0 : run + 1;
        double ts = (double)(((uint64_t)hi << 32) | lo) * muls[iid] + offs[iid];
        last = ts;
        have_last = 1;
        if (sup[iid] && frame(c, buf, off + 28, incl, orig, ts, lts[iid]) < 0) goto fail;
        blocks++;
        off += bl;
    }
    PyBuffer_Release(&b);
    if (sync_counter(c) < 0) return NULL;
    if (have_last) return Py_BuildValue("nLdL", off, blocks, last, run);
    return Py_BuildValue("nLOL", off, blocks, Py_None, run);
fail:
    PyBuffer_Release(&b);
    return NULL;
}

static PyObject *Core_finish(Core *c, PyObject *Py_UNUSED(ignored)) {
    if (finish(c) < 0) return NULL;
    Py_RETURN_NONE;
}

static PyObject *Core_live(Core *c, PyObject *Py_UNUSED(ignored)) { return PyLong_FromLongLong(c->nlive); }

static PyObject *getm(PyObject *engine, const char *name) { return PyObject_GetAttrString(engine, name); }

/* ------------------------------------------------------------------ the rules, from rules.py */

/* Every rule this file reads, by its name in rules.py (core.CORE_RULES is the same list). */
static const char *RULE_NAMES[] = {
    "MAX_RECORD", "MAX_BLOCK", "PCAPNG_EPB", "EMPTY_RUN_MAX", "LINK_TYPES", "AF_INET_VALUES", "AF_INET6_VALUES",
    "ETHERNET_BROADCAST", "ETHERTYPE_IPV4", "ETHERTYPE_IPV6", "VLAN_TAGS", "VLAN_TAG_LENGTH", "PPPOE_SESSION",
    "PPPOE_HEADER", "PPP_IPV4", "PPP_IPV6", "MPLS", "MPLS_LABEL_LENGTH", "PCAPDROID_MAGIC", "PCAPDROID_TRAILER",
    "PCAPDROID_MIN_FRAME", "IPV6_EXTENSION_HEADERS", "NO_NEXT_HEADER", "ICMP", "TCP", "UDP", "ICMPV6", "TCP_FIN",
    "TCP_SYN", "TCP_RST", "TCP_ACK", "ICMP_REPLIES", "SERVER_PORTS", "EPHEMERAL_FROM", "DYNAMIC_FROM", "ICMP_ERRORS",
    "ICMPV6_ERRORS", "LOCAL_NETWORKS", "ICMP_REQUESTS", "KNOWN_CLIENTS_MAX", "DNS_PORT", "DOT_PORT",
    "INSPECT_ALWAYS", "TCP_CLIENT_INSPECT", "TCP_SERVER_INSPECT", "UDP_CLIENT_INSPECT", "STREAM_LIMIT",
    "TLS_CONTENT_TYPES", "TLS_HANDSHAKE", "TLS_MAJOR", "TLS_CLIENT_HELLO", "TLS_SERVER_HELLO", "TLS_CERTIFICATE",
    "TLS_AFTER_CERTIFICATE", "TLS_EXT_SERVER_NAME", "TLS_EXT_SUPPORTED_VERSIONS", "TLS_EXT_ECH", "TLS_EXT_ESNI",
    "TLS_SNI_HOST_NAME", "TLS_ECH_OUTER", "TLS_13", "HTTP_METHODS", "QUIC_LONG_HEADER", "QUIC_MIN_INITIAL",
    "GQUIC_MIN_HELLO", "GQUIC_MARK", "GQUIC_MARK_WITHIN", "IDLE_TIMEOUT", "FINISHED_GRACE", "FULL_SWEEP_EVERY",
    "CISCO_METADATA", "CISCO_METADATA_HEADER", "PPP_ADDRESS_CONTROL", "WLAN_DATA", "WLAN_HEADER", "WLAN_FOUR_ADDRESS",
    "WLAN_QOS_CONTROL", "WLAN_HT_CONTROL", "WLAN_PROTECTED", "LLC_SNAP", "LLC_SNAP_HEADER", "NFLOG_PAYLOAD",
    "NFLOG_TLV_ALIGN", "TUNNEL_DEPTH", "TUNNELS_MAX", "IP_IN_IP", "GRE", "GRE_VERSIONS", "GRE_TEB", "GRE_ERSPAN_II",
    "GRE_ERSPAN_III", "GRE_PPP", "GRE_WLAN", "ERSPAN_II_HEADER", "ERSPAN_III_HEADER", "ERSPAN_III_SUBHEADER",
    "TUNNEL_PORTS", "VXLAN_HEADER", "GENEVE_HEADER", "GTP_HEADER", "GTP_G_PDU", "TEREDO_AUTH", "TEREDO_ORIGIN",
    "L2TP_VERSION",
    NULL,
};

static PyObject *rule(PyObject *rules, const char *name) { /* borrowed */
    PyObject *v = PyDict_GetItemString(rules, name);
    if (!v && !PyErr_Occurred()) PyErr_Format(PyExc_KeyError, "capture rule %s is missing", name);
    return v;
}

static int bad_rule(const char *name, const char *why) {
    PyErr_Format(PyExc_ValueError, "capture rule %s: %s", name, why);
    return -1;
}

static int rule_int(PyObject *rules, const char *name, long long lo, long long hi, int64_t *out) {
    PyObject *v = rule(rules, name);
    if (!v) return -1;
    long long x = PyLong_AsLongLong(v);
    if (x == -1 && PyErr_Occurred()) return -1;
    if (x < lo || x > hi) return bad_rule(name, "out of range");
    *out = x;
    return 0;
}

/* an int rule into an int field */
#define RULE_INT(name, lo, hi, field)                                                                                  \
    do {                                                                                                               \
        int64_t v_;                                                                                                    \
        if (rule_int(rules, name, lo, hi, &v_) < 0) return -1;                                                         \
        field = (int)v_;                                                                                               \
    } while (0)

static int rule_float(PyObject *rules, const char *name, double *out) {
    PyObject *v = rule(rules, name);
    if (!v) return -1;
    double x = PyFloat_AsDouble(v);
    if (x == -1.0 && PyErr_Occurred()) return -1;
    if (!(x >= 0)) return bad_rule(name, "must be a number of seconds");
    *out = x;
    return 0;
}

static int rule_bytes(PyObject *rules, const char *name, Py_ssize_t lo, Py_ssize_t hi, uint8_t *out, int *len) {
    PyObject *v = rule(rules, name);
    if (!v) return -1;
    if (!PyBytes_Check(v)) {
        PyErr_Format(PyExc_TypeError, "capture rule %s must be bytes", name);
        return -1;
    }
    Py_ssize_t n = PyBytes_GET_SIZE(v);
    if (n < lo || n > hi) return bad_rule(name, "has the wrong length");
    memcpy(out, PyBytes_AS_STRING(v), n);
    if (len) *len = (int)n;
    return 0;
}

/* A set of ints in [lo, hi]: marked in a byte map (one byte per value) or a bit map, or listed. */
static int rule_set(PyObject *rules, const char *name, long lo, long hi, uint8_t *bytemap, uint8_t *bitmap,
                    int *list, int *nlist, int maxlist) {
    PyObject *v = rule(rules, name);
    if (!v) return -1;
    PyObject *seq = PySequence_Fast(v, "a capture rule set must be a sequence");
    if (!seq) return -1;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    if (list && n > maxlist) {
        Py_DECREF(seq);
        return bad_rule(name, "has too many values");
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        long x = PyLong_AsLong(PySequence_Fast_GET_ITEM(seq, i));
        if (x == -1 && PyErr_Occurred()) {
            Py_DECREF(seq);
            return -1;
        }
        if (x < lo || x > hi) {
            Py_DECREF(seq);
            return bad_rule(name, "has a value out of range");
        }
        if (bytemap) bytemap[x] = 1;
        if (bitmap) bitmap[x >> 3] |= (uint8_t)(1 << (x & 7));
        if (list) list[i] = (int)x;
    }
    if (nlist) *nlist = (int)n;
    Py_DECREF(seq);
    return 0;
}

/* rows of ints: a table rule as core.core_rules() packs it */
static int rule_rows(PyObject *rules, const char *name, int width, int maxrows, long long (*rows)[4], int *nrows) {
    PyObject *v = rule(rules, name);
    if (!v) return -1;
    PyObject *seq = PySequence_Fast(v, "a capture rule table must be a sequence");
    if (!seq) return -1;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    int rc = 0;
    if (n > maxrows) rc = bad_rule(name, "has too many rows");
    for (Py_ssize_t i = 0; rc == 0 && i < n; i++) {
        PyObject *row = PySequence_Fast(PySequence_Fast_GET_ITEM(seq, i), "a capture rule row must be a sequence");
        if (!row) {
            rc = -1;
            break;
        }
        if (PySequence_Fast_GET_SIZE(row) != width) rc = bad_rule(name, "has a row of the wrong width");
        for (int k = 0; rc == 0 && k < width; k++) {
            long long x = PyLong_AsLongLong(PySequence_Fast_GET_ITEM(row, k));
            if (x == -1 && PyErr_Occurred()) rc = -1;
            rows[i][k] = x;
        }
        Py_DECREF(row);
    }
    *nrows = (int)n;
    Py_DECREF(seq);
    return rc;
}

static int load_rules(Rules *R, PyObject *rules) {
    if (!PyDict_Check(rules)) {
        PyErr_SetString(PyExc_TypeError, "the capture rules must be a dict (core.core_rules())");
        return -1;
    }
    /* an unknown name is a rule Python decides by and this file would ignore: refuse it */
    PyObject *key, *val;
    Py_ssize_t pos = 0;
    while (PyDict_Next(rules, &pos, &key, &val)) {
        const char *k = PyUnicode_Check(key) ? PyUnicode_AsUTF8(key) : NULL;
        if (!k) {
            if (!PyErr_Occurred()) PyErr_SetString(PyExc_TypeError, "capture rule names must be str");
            return -1;
        }
        int known = 0;
        for (const char **n = RULE_NAMES; *n && !known; n++) known = strcmp(*n, k) == 0;
        if (!known) {
            PyErr_Format(PyExc_ValueError, "capture rule %s is not known to the C core", k);
            return -1;
        }
    }
    memset(R, 0, sizeof *R);
    int64_t v;
    if (rule_int(rules, "MAX_RECORD", 1, 1LL << 30, &R->max_record) < 0) return -1;
    if (rule_int(rules, "MAX_BLOCK", 32, 1LL << 31, &R->max_block) < 0) return -1;
    if (rule_int(rules, "PCAPNG_EPB", 0, 0xFFFFFFFFLL, &v) < 0) return -1;
    R->pcapng_epb = (uint32_t)v;
    if (rule_int(rules, "EMPTY_RUN_MAX", 1, 1LL << 40, &R->empty_run_max) < 0) return -1;
    long long rows[256][4];
    int n;
    if (rule_rows(rules, "LINK_TYPES", 4, MAX_LINKS, rows, &n) < 0) return -1;
    for (int i = 0; i < n; i++) {
        LinkRule *l = &R->links[i];
        l->lt = (int)rows[i][0];
        l->framing = (int)rows[i][1];
        l->header = (int)rows[i][2];
        l->type_at = (int)rows[i][3];
        /* what frame() reads must lie inside the header it checked */
        int ok = l->header >= 0 && l->header <= 64 && l->type_at >= 0;
        if (l->framing == F_ETHERNET) ok = ok && l->type_at + 2 <= l->header && l->header >= 6;
        else if (l->framing == F_COOKED) ok = ok && l->type_at + 2 <= l->header;
        else if (l->framing == F_FAMILY) ok = ok && l->header >= 4;
        else if (l->framing == F_RADIOTAP || l->framing == F_NFLOG) ok = ok && l->header >= 4;
        else if (l->framing == F_PKTAP) ok = ok && l->header >= 8;
        else if (l->framing != F_RAW && l->framing != F_PPP && l->framing != F_WLAN) ok = 0;
        if (!ok) return bad_rule("LINK_TYPES", "a row does not fit its framing");
        if (l->lt >= 0 && l->lt < LINKS_DIRECT) R->link_at[l->lt] = (uint8_t)(i + 1);
    }
    R->nlinks = n;
    uint8_t af4[256] = {0}, af6[256] = {0};
    if (rule_set(rules, "AF_INET_VALUES", 0, 255, af4, NULL, NULL, NULL, 0) < 0) return -1;
    if (rule_set(rules, "AF_INET6_VALUES", 0, 255, af6, NULL, NULL, NULL, 0) < 0) return -1;
    for (int i = 0; i < 256; i++) R->af_version[i] = af4[i] ? 4 : af6[i] ? 6 : 0;
    if (rule_bytes(rules, "ETHERNET_BROADCAST", 6, 6, R->broadcast, NULL) < 0) return -1;
    memcpy(&R->bcast_hi, R->broadcast, 4);
    memcpy(&R->bcast_lo, R->broadcast + 4, 2);
    RULE_INT("ETHERTYPE_IPV4", 0, 0xFFFF, R->et_ipv4);
    RULE_INT("ETHERTYPE_IPV6", 0, 0xFFFF, R->et_ipv6);
    if (rule_set(rules, "VLAN_TAGS", 0, 0xFFFF, NULL, R->vlan_map, R->vlan, &R->nvlan, MAX_TAGS) < 0) return -1;
    RULE_INT("VLAN_TAG_LENGTH", 4, 64, R->vlan_len);
    RULE_INT("PPPOE_SESSION", 0, 0xFFFF, R->pppoe);
    RULE_INT("PPPOE_HEADER", 0, 64, R->pppoe_len);
    RULE_INT("PPP_IPV4", 0, 0xFFFF, R->ppp4);
    RULE_INT("PPP_IPV6", 0, 0xFFFF, R->ppp6);
    if (rule_set(rules, "MPLS", 0, 0xFFFF, NULL, R->mpls_map, R->mpls, &R->nmpls, MAX_TAGS) < 0) return -1;
    RULE_INT("MPLS_LABEL_LENGTH", 4, 64, R->mpls_len);
    if (rule_bytes(rules, "PCAPDROID_MAGIC", 4, 4, R->pd_magic, NULL) < 0) return -1;
    memcpy(&R->pd_magic32, R->pd_magic, 4);
    RULE_INT("PCAPDROID_TRAILER", 28, 1024, R->pd_trailer);
    RULE_INT("PCAPDROID_MIN_FRAME", R->pd_trailer, 1 << 20, R->pd_min_frame);
    if (rule_rows(rules, "IPV6_EXTENSION_HEADERS", 2, 256, rows, &n) < 0) return -1;
    for (int i = 0; i < n; i++) {
        if (rows[i][0] < 0 || rows[i][0] > 255 || rows[i][1] < X_OCTETS8 || rows[i][1] > X_AH)
            return bad_rule("IPV6_EXTENSION_HEADERS", "a row is out of range");
        R->v6ext[rows[i][0]] = (uint8_t)rows[i][1];
    }
    RULE_INT("NO_NEXT_HEADER", 0, 255, R->no_next);
    RULE_INT("ICMP", 0, 255, R->icmp);
    RULE_INT("TCP", 0, 255, R->tcp);
    RULE_INT("UDP", 0, 255, R->udp);
    RULE_INT("ICMPV6", 0, 255, R->icmpv6);
    RULE_INT("TCP_FIN", 0, 255, R->tcp_fin);
    RULE_INT("TCP_SYN", 0, 255, R->tcp_syn);
    RULE_INT("TCP_RST", 0, 255, R->tcp_rst);
    RULE_INT("TCP_ACK", 0, 255, R->tcp_ack);
    if (rule_set(rules, "ICMP_REPLIES", 0, 255, R->icmp_reply, NULL, NULL, NULL, 0) < 0) return -1;
    if (rule_set(rules, "SERVER_PORTS", 0, 65535, NULL, R->server_port, NULL, NULL, 0) < 0) return -1;
    RULE_INT("EPHEMERAL_FROM", 0, 65536, R->ephemeral_from);
    RULE_INT("DYNAMIC_FROM", 0, 65536, R->dynamic_from);
    if (rule_set(rules, "ICMP_ERRORS", 0, 255, R->icmp_error, NULL, NULL, NULL, 0) < 0) return -1;
    if (rule_set(rules, "ICMPV6_ERRORS", 0, 255, R->icmpv6_error, NULL, NULL, NULL, 0) < 0) return -1;
    if (rule_set(rules, "ICMP_REQUESTS", 0, 255, R->icmp_request, NULL, NULL, NULL, 0) < 0) return -1;
    RULE_INT("KNOWN_CLIENTS_MAX", 0, 1 << 24, R->known_clients_max);
    {
        PyObject *v = rule(rules, "LOCAL_NETWORKS");
        if (!v) return -1;
        PyObject *seq = PySequence_Fast(v, "a capture rule set must be a sequence");
        if (!seq) return -1;
        Py_ssize_t nn = PySequence_Fast_GET_SIZE(seq);
        int bad = nn > MAX_LINKS;
        for (Py_ssize_t i = 0; !bad && i < nn; i++) {
            PyObject *e = PySequence_Fast_GET_ITEM(seq, i);
            Py_ssize_t el = PyBytes_Check(e) ? PyBytes_GET_SIZE(e) : 0;
            const uint8_t *eb = el ? (const uint8_t *)PyBytes_AS_STRING(e) : NULL;
            if ((el != 5 && el != 17) || eb[0] > (el - 1) * 8) {
                bad = 1;
                break;
            }
            R->local[i].alen = (int)el - 1;
            R->local[i].plen = eb[0];
            memcpy(R->local[i].net, eb + 1, el - 1);
        }
        Py_DECREF(seq);
        if (bad) return bad_rule("LOCAL_NETWORKS", "must be prefix lengths and IPv4 or IPv6 addresses");
        R->nlocal = (int)nn;
    }
    RULE_INT("DNS_PORT", 0, 65535, R->dns_port);
    RULE_INT("DOT_PORT", 0, 65535, R->dot_port);
    if (rule_int(rules, "INSPECT_ALWAYS", -1000, -1, &R->inspect_always) < 0) return -1;
    if (rule_int(rules, "TCP_CLIENT_INSPECT", 0, 1 << 20, &R->tcp_client_inspect) < 0) return -1;
    if (rule_int(rules, "TCP_SERVER_INSPECT", 0, 1 << 20, &R->tcp_server_inspect) < 0) return -1;
    if (rule_int(rules, "UDP_CLIENT_INSPECT", 0, 1 << 20, &R->udp_client_inspect) < 0) return -1;
    if (rule_int(rules, "STREAM_LIMIT", 0, 1LL << 31, &R->stream_limit) < 0) return -1;
    if (rule_set(rules, "TLS_CONTENT_TYPES", 0, 255, R->tls_ctype, NULL, NULL, NULL, 0) < 0) return -1;
    RULE_INT("TLS_HANDSHAKE", 0, 255, R->tls_handshake);
    RULE_INT("TLS_MAJOR", 0, 255, R->tls_major);
    RULE_INT("TLS_CLIENT_HELLO", 0, 255, R->tls_client_hello);
    RULE_INT("TLS_SERVER_HELLO", 0, 255, R->tls_server_hello);
    RULE_INT("TLS_CERTIFICATE", 0, 255, R->tls_certificate);
    if (rule_set(rules, "TLS_AFTER_CERTIFICATE", 0, 255, R->tls_after_cert, NULL, NULL, NULL, 0) < 0) return -1;
    RULE_INT("TLS_EXT_SERVER_NAME", 0, 0xFFFF, R->ext_sni);
    RULE_INT("TLS_EXT_SUPPORTED_VERSIONS", 0, 0xFFFF, R->ext_supported_versions);
    RULE_INT("TLS_EXT_ECH", 0, 0xFFFF, R->ext_ech);
    RULE_INT("TLS_EXT_ESNI", 0, 0xFFFF, R->ext_esni);
    RULE_INT("TLS_SNI_HOST_NAME", 0, 255, R->sni_host_name);
    RULE_INT("TLS_ECH_OUTER", 0, 255, R->ech_outer);
    RULE_INT("TLS_13", 0, 0xFFFF, R->tls13);
    int nfirst;
    uint8_t first[256];
    if (rule_bytes(rules, "HTTP_METHODS", 0, 256, first, &nfirst) < 0) return -1;
    for (int i = 0; i < nfirst; i++) R->http_first[first[i]] = 1;
    RULE_INT("QUIC_LONG_HEADER", 1, 255, R->quic_long);
    RULE_INT("QUIC_MIN_INITIAL", 1, 1 << 16, R->quic_min_initial);
    RULE_INT("GQUIC_MIN_HELLO", 2, 1 << 16, R->gquic_min);
    if (rule_bytes(rules, "GQUIC_MARK", 1, 8, R->gquic_mark, &R->gquic_mark_len) < 0) return -1;
    RULE_INT("GQUIC_MARK_WITHIN", 0, 1 << 16, R->gquic_within);
    if (rule_float(rules, "IDLE_TIMEOUT", &R->idle_timeout) < 0) return -1;
    if (rule_float(rules, "FINISHED_GRACE", &R->finished_grace) < 0) return -1;
    if (rule_int(rules, "FULL_SWEEP_EVERY", 1, 1 << 30, &R->full_sweep_every) < 0) return -1;
    RULE_INT("CISCO_METADATA", 0, 0xFFFF, R->cmd);
    RULE_INT("CISCO_METADATA_HEADER", 2, 64, R->cmd_len);
    if (rule_bytes(rules, "PPP_ADDRESS_CONTROL", 2, 2, R->ppp_ac, NULL) < 0) return -1;
    RULE_INT("WLAN_DATA", 0, 3, R->wlan_data);
    RULE_INT("WLAN_HEADER", 2, 64, R->wlan_header); /* frame control is read inside it */
    RULE_INT("WLAN_FOUR_ADDRESS", 0, 64, R->wlan_four);
    RULE_INT("WLAN_QOS_CONTROL", 0, 64, R->wlan_qos);
    RULE_INT("WLAN_HT_CONTROL", 0, 64, R->wlan_ht);
    RULE_INT("WLAN_PROTECTED", 0, 255, R->wlan_protected);
    if (rule_bytes(rules, "LLC_SNAP", 3, 3, R->llc_snap, NULL) < 0) return -1;
    RULE_INT("LLC_SNAP_HEADER", 8, 64, R->llc_snap_len); /* the EtherType is its last two of eight */
    RULE_INT("NFLOG_PAYLOAD", 0, 0x7FFF, R->nflog_payload);
    RULE_INT("NFLOG_TLV_ALIGN", 4, 4, R->nflog_align); /* a power of two the walk steps by, at least a header */
    RULE_INT("TUNNEL_DEPTH", 0, 64, R->tunnel_depth);
    RULE_INT("TUNNELS_MAX", 1, 1 << 20, R->tunnels_max);
    if (rule_set(rules, "IP_IN_IP", 0, 255, R->ip_in_ip, NULL, NULL, NULL, 0) < 0) return -1;
    RULE_INT("GRE", 0, 255, R->gre);
    if (rule_set(rules, "GRE_VERSIONS", 0, 7, R->gre_version, NULL, NULL, NULL, 0) < 0) return -1;
    RULE_INT("GRE_TEB", 0, 0xFFFF, R->gre_teb);
    RULE_INT("GRE_ERSPAN_II", 0, 0xFFFF, R->gre_erspan2);
    RULE_INT("GRE_ERSPAN_III", 0, 0xFFFF, R->gre_erspan3);
    RULE_INT("GRE_PPP", 0, 0xFFFF, R->gre_ppp);
    if (rule_set(rules, "GRE_WLAN", 0, 0xFFFF, NULL, NULL, R->gre_wlan, &R->ngre_wlan, MAX_TAGS) < 0) return -1;
    RULE_INT("ERSPAN_II_HEADER", 0, 64, R->erspan2_len);
    RULE_INT("ERSPAN_III_HEADER", 12, 64, R->erspan3_len); /* its frame type and flags are read inside it */
    RULE_INT("ERSPAN_III_SUBHEADER", 0, 64, R->erspan3_sub);
    if (rule_rows(rules, "TUNNEL_PORTS", 2, 256, rows, &n) < 0) return -1;
    for (int i = 0; i < n; i++) {
        if (rows[i][0] < 0 || rows[i][0] > 65535 || rows[i][1] < TU_VXLAN || rows[i][1] > TU_LAST ||
            rows[i][1] == TU_IP_IN_IP)
            return bad_rule("TUNNEL_PORTS", "a row is out of range");
        R->tunnel_port[rows[i][0]] = (uint8_t)rows[i][1];
    }
    RULE_INT("VXLAN_HEADER", 1, 64, R->vxlan_len);
    RULE_INT("GENEVE_HEADER", 4, 64, R->geneve_len); /* its protocol type is read inside it */
    RULE_INT("GTP_HEADER", 2, 64, R->gtp_len);
    RULE_INT("GTP_G_PDU", 0, 255, R->gtp_gpdu);
    RULE_INT("TEREDO_AUTH", 0, 64, R->teredo_auth);
    RULE_INT("TEREDO_ORIGIN", 0, 64, R->teredo_origin);
    RULE_INT("L2TP_VERSION", 0, 15, R->l2tp_version);
    return 0;
}

/* sorted tuple of the values marked in a byte map of n entries */
static PyObject *map_values(const uint8_t *map, int n, int want) {
    PyObject *out = PyList_New(0);
    for (int i = 0; out && i < n; i++) {
        if (map[i] != want) continue;
        PyObject *x = PyLong_FromLong(i);
        if (!x || PyList_Append(out, x) < 0) Py_CLEAR(out);
        Py_XDECREF(x);
    }
    if (!out) return NULL;
    PyObject *t = PyList_AsTuple(out);
    Py_DECREF(out);
    return t;
}

static PyObject *list_values(const int *v, int n) {
    PyObject *t = PyTuple_New(n);
    for (int i = 0; t && i < n; i++) {
        PyObject *x = PyLong_FromLong(v[i]);
        if (!x) Py_CLEAR(t);
        else PyTuple_SET_ITEM(t, i, x);
    }
    return t;
}

/* Core.rules(): the rules as this file holds them, in core.core_rules()'s forms */
static PyObject *Core_rules(Core *c, PyObject *Py_UNUSED(ignored)) {
    const Rules *R = &c->r;
    PyObject *d = PyDict_New();
    if (!d) return NULL;
#define PUT(name, expr)                                                                                                \
    do {                                                                                                               \
        PyObject *o_ = (expr);                                                                                         \
        if (!o_ || PyDict_SetItemString(d, name, o_) < 0) {                                                            \
            Py_XDECREF(o_);                                                                                            \
            Py_DECREF(d);                                                                                              \
            return NULL;                                                                                               \
        }                                                                                                              \
        Py_DECREF(o_);                                                                                                 \
    } while (0)
#define INT(name, v) PUT(name, PyLong_FromLongLong((long long)(v)))
#define FLT(name, v) PUT(name, PyFloat_FromDouble(v))
#define BYTES(name, p, n) PUT(name, PyBytes_FromStringAndSize((const char *)(p), (n)))
    uint8_t ports[65536], first[256];
    int nfirst = 0;
    for (int i = 0; i < 65536; i++) ports[i] = (R->server_port[i >> 3] >> (i & 7)) & 1;
    for (int i = 0; i < 256; i++)
        if (R->http_first[i]) first[nfirst++] = (uint8_t)i;
    INT("MAX_RECORD", R->max_record);
    INT("MAX_BLOCK", R->max_block);
    INT("PCAPNG_EPB", R->pcapng_epb);
    INT("EMPTY_RUN_MAX", R->empty_run_max);
    PyObject *links = PyTuple_New(R->nlinks);
    for (int i = 0; links && i < R->nlinks; i++) {
        const LinkRule *l = &R->links[i];
        PyObject *row = Py_BuildValue("(iiii)", l->lt, l->framing, l->header, l->type_at);
        if (!row) Py_CLEAR(links);
        else PyTuple_SET_ITEM(links, i, row);
    }
    PUT("LINK_TYPES", links);
    PUT("AF_INET_VALUES", map_values(R->af_version, 256, 4));
    PUT("AF_INET6_VALUES", map_values(R->af_version, 256, 6));
    BYTES("ETHERNET_BROADCAST", R->broadcast, 6);
    INT("ETHERTYPE_IPV4", R->et_ipv4);
    INT("ETHERTYPE_IPV6", R->et_ipv6);
    PUT("VLAN_TAGS", list_values(R->vlan, R->nvlan));
    INT("VLAN_TAG_LENGTH", R->vlan_len);
    INT("PPPOE_SESSION", R->pppoe);
    INT("PPPOE_HEADER", R->pppoe_len);
    INT("PPP_IPV4", R->ppp4);
    INT("PPP_IPV6", R->ppp6);
    PUT("MPLS", list_values(R->mpls, R->nmpls));
    INT("MPLS_LABEL_LENGTH", R->mpls_len);
    BYTES("PCAPDROID_MAGIC", R->pd_magic, 4);
    INT("PCAPDROID_TRAILER", R->pd_trailer);
    INT("PCAPDROID_MIN_FRAME", R->pd_min_frame);
    PyObject *ext = PyList_New(0);
    for (int i = 0; ext && i < 256; i++) {
        if (!R->v6ext[i]) continue;
        PyObject *row = Py_BuildValue("(ii)", i, R->v6ext[i]);
        if (!row || PyList_Append(ext, row) < 0) Py_CLEAR(ext);
        Py_XDECREF(row);
    }
    PyObject *ext_t = ext ? PyList_AsTuple(ext) : NULL;
    Py_XDECREF(ext);
    PUT("IPV6_EXTENSION_HEADERS", ext_t);
    INT("NO_NEXT_HEADER", R->no_next);
    INT("ICMP", R->icmp);
    INT("TCP", R->tcp);
    INT("UDP", R->udp);
    INT("ICMPV6", R->icmpv6);
    INT("TCP_FIN", R->tcp_fin);
    INT("TCP_SYN", R->tcp_syn);
    INT("TCP_RST", R->tcp_rst);
    INT("TCP_ACK", R->tcp_ack);
    PUT("ICMP_REPLIES", map_values(R->icmp_reply, 256, 1));
    PUT("SERVER_PORTS", map_values(ports, 65536, 1));
    INT("EPHEMERAL_FROM", R->ephemeral_from);
    INT("DYNAMIC_FROM", R->dynamic_from);
    PUT("ICMP_ERRORS", map_values(R->icmp_error, 256, 1));
    PUT("ICMPV6_ERRORS", map_values(R->icmpv6_error, 256, 1));
    PUT("ICMP_REQUESTS", map_values(R->icmp_request, 256, 1));
    INT("KNOWN_CLIENTS_MAX", R->known_clients_max);
    {
        PyObject *ln = PyTuple_New(R->nlocal);
        for (int i = 0; ln && i < R->nlocal; i++) {
            uint8_t row[17];
            row[0] = (uint8_t)R->local[i].plen;
            memcpy(row + 1, R->local[i].net, R->local[i].alen);
            PyObject *b = PyBytes_FromStringAndSize((const char *)row, R->local[i].alen + 1);
            if (!b) Py_CLEAR(ln);
            else PyTuple_SET_ITEM(ln, i, b);
        }
        PUT("LOCAL_NETWORKS", ln);
    }
    INT("DNS_PORT", R->dns_port);
    INT("DOT_PORT", R->dot_port);
    INT("INSPECT_ALWAYS", R->inspect_always);
    INT("TCP_CLIENT_INSPECT", R->tcp_client_inspect);
    INT("TCP_SERVER_INSPECT", R->tcp_server_inspect);
    INT("UDP_CLIENT_INSPECT", R->udp_client_inspect);
    INT("STREAM_LIMIT", R->stream_limit);
    PUT("TLS_CONTENT_TYPES", map_values(R->tls_ctype, 256, 1));
    INT("TLS_HANDSHAKE", R->tls_handshake);
    INT("TLS_MAJOR", R->tls_major);
    INT("TLS_CLIENT_HELLO", R->tls_client_hello);
    INT("TLS_SERVER_HELLO", R->tls_server_hello);
    INT("TLS_CERTIFICATE", R->tls_certificate);
    PUT("TLS_AFTER_CERTIFICATE", map_values(R->tls_after_cert, 256, 1));
    INT("TLS_EXT_SERVER_NAME", R->ext_sni);
    INT("TLS_EXT_SUPPORTED_VERSIONS", R->ext_supported_versions);
    INT("TLS_EXT_ECH", R->ext_ech);
    INT("TLS_EXT_ESNI", R->ext_esni);
    INT("TLS_SNI_HOST_NAME", R->sni_host_name);
    INT("TLS_ECH_OUTER", R->ech_outer);
    INT("TLS_13", R->tls13);
    BYTES("HTTP_METHODS", first, nfirst);
    INT("QUIC_LONG_HEADER", R->quic_long);
    INT("QUIC_MIN_INITIAL", R->quic_min_initial);
    INT("GQUIC_MIN_HELLO", R->gquic_min);
    BYTES("GQUIC_MARK", R->gquic_mark, R->gquic_mark_len);
    INT("GQUIC_MARK_WITHIN", R->gquic_within);
    FLT("IDLE_TIMEOUT", R->idle_timeout);
    FLT("FINISHED_GRACE", R->finished_grace);
    INT("FULL_SWEEP_EVERY", R->full_sweep_every);
    INT("CISCO_METADATA", R->cmd);
    INT("CISCO_METADATA_HEADER", R->cmd_len);
    BYTES("PPP_ADDRESS_CONTROL", R->ppp_ac, 2);
    INT("WLAN_DATA", R->wlan_data);
    INT("WLAN_HEADER", R->wlan_header);
    INT("WLAN_FOUR_ADDRESS", R->wlan_four);
    INT("WLAN_QOS_CONTROL", R->wlan_qos);
    INT("WLAN_HT_CONTROL", R->wlan_ht);
    INT("WLAN_PROTECTED", R->wlan_protected);
    BYTES("LLC_SNAP", R->llc_snap, 3);
    INT("LLC_SNAP_HEADER", R->llc_snap_len);
    INT("NFLOG_PAYLOAD", R->nflog_payload);
    INT("NFLOG_TLV_ALIGN", R->nflog_align);
    INT("TUNNEL_DEPTH", R->tunnel_depth);
    INT("TUNNELS_MAX", R->tunnels_max);
    PUT("IP_IN_IP", map_values(R->ip_in_ip, 256, 1));
    INT("GRE", R->gre);
    PUT("GRE_VERSIONS", map_values(R->gre_version, 8, 1));
    INT("GRE_TEB", R->gre_teb);
    INT("GRE_ERSPAN_II", R->gre_erspan2);
    INT("GRE_ERSPAN_III", R->gre_erspan3);
    INT("GRE_PPP", R->gre_ppp);
    {
        int sorted_wlan[MAX_TAGS], nw = R->ngre_wlan;
        memcpy(sorted_wlan, R->gre_wlan, sizeof sorted_wlan);
        for (int i = 1; i < nw; i++)
            for (int j = i; j > 0 && sorted_wlan[j - 1] > sorted_wlan[j]; j--) {
                int t = sorted_wlan[j];
                sorted_wlan[j] = sorted_wlan[j - 1];
                sorted_wlan[j - 1] = t;
            }
        PUT("GRE_WLAN", list_values(sorted_wlan, nw));
    }
    INT("ERSPAN_II_HEADER", R->erspan2_len);
    INT("ERSPAN_III_HEADER", R->erspan3_len);
    INT("ERSPAN_III_SUBHEADER", R->erspan3_sub);
    {
        PyObject *tp = PyList_New(0);
        for (int i = 0; tp && i < 65536; i++) {
            if (!R->tunnel_port[i]) continue;
            PyObject *row = Py_BuildValue("(ii)", i, R->tunnel_port[i]);
            if (!row || PyList_Append(tp, row) < 0) Py_CLEAR(tp);
            Py_XDECREF(row);
        }
        PyObject *tp_t = tp ? PyList_AsTuple(tp) : NULL;
        Py_XDECREF(tp);
        PUT("TUNNEL_PORTS", tp_t);
    }
    INT("VXLAN_HEADER", R->vxlan_len);
    INT("GENEVE_HEADER", R->geneve_len);
    INT("GTP_HEADER", R->gtp_len);
    INT("GTP_G_PDU", R->gtp_gpdu);
    INT("TEREDO_AUTH", R->teredo_auth);
    INT("TEREDO_ORIGIN", R->teredo_origin);
    INT("L2TP_VERSION", R->l2tp_version);
#undef PUT
#undef INT
#undef FLT
#undef BYTES
    return d;
}

static int Core_init(Core *c, PyObject *args, PyObject *Py_UNUSED(kw)) {
    PyObject *engine, *devices, *rules;
    if (!PyArg_ParseTuple(args, "OO!O", &engine, &PyTuple_Type, &devices, &rules)) return -1;
    if (load_rules(&c->r, rules) < 0) return -1;
    c->engine = Py_NewRef(engine);
    c->devices = Py_NewRef(devices);
    /* core.CoreHost, the whole interface */
    if (!(c->inspect = getm(engine, "inspect")) || !(c->dns_payload = getm(engine, "dns_payload")) ||
        !(c->fragment = getm(engine, "fragment")) || !(c->conceal = getm(engine, "conceal")) ||
        !(c->core_view = getm(engine, "core_view")) || !(c->core_hello = getm(engine, "core_hello")) ||
        !(c->merge_pair = getm(engine, "merge_pair")) || !(c->prune = getm(engine, "prune_fragments")) ||
        !(c->counter = getm(engine, "counter")) || !(c->frag_owner = getm(engine, "core_frag_owner")) ||
        !(c->folded = getm(engine, "folded")) || !(c->merge_tunnel = getm(engine, "merge_tunnel")) ||
        !(c->known = getm(engine, "known_clients")))
        return -1;
    if (!PyDict_Check(c->known)) {
        PyErr_SetString(PyExc_TypeError, "engine known_clients must be a dict");
        return -1;
    }
    if (!PyList_Check(c->counter) || PyList_GET_SIZE(c->counter) < 1 || !PyDict_Check(c->frag_owner)) {
        PyErr_SetString(PyExc_TypeError, "engine counter must be a list and core_frag_owner a dict");
        return -1;
    }
    PyObject *v = getm(engine, "bucket");
    if (!v) return -1;
    c->bucket = PyFloat_AsDouble(v);
    Py_DECREF(v);
    v = getm(engine, "sweep_mask");
    if (!v) return -1;
    c->mask = PyLong_AsLongLong(v);
    Py_DECREF(v);
    v = getm(engine, "sweeps");
    if (!v) return -1;
    c->sweeps = PyLong_AsLongLong(v);
    Py_DECREF(v);
    v = getm(engine, "timeline_pairs");
    if (!v) return -1;
    c->timeline_pairs = PyLong_AsLongLong(v);
    Py_DECREF(v);
    if (PyErr_Occurred()) return -1;
    if (!(c->bucket > 0)) {
        PyErr_SetString(PyExc_ValueError, "the timeline bucket must be positive");
        return -1;
    }
    if (!(c->apps = PyDict_New())) return -1;
    c->freehead = c->live_head = c->live_tail = c->lasttun = -1;
    c->next_serial = 1;
    return tab_grow(c);
}

static int Core_traverse(Core *c, visitproc visit, void *arg) {
#define VISIT(name) Py_VISIT(c->name);
    CORE_REFS(VISIT)
#undef VISIT
    for (int64_t i = 0; i < c->nflows; i++) {
        Flow *f = &c->flows[i];
        if (!f->serial) continue;
        Py_VISIT(f->app);
        Py_VISIT(f->timeline);
        Py_VISIT(f->va);
        Py_VISIT(f->vb);
    }
    for (int64_t i = 0; i < c->npairs; i++) {
        Py_VISIT(c->pairs[i].app);
        Py_VISIT(c->pairs[i].ports);
        Py_VISIT(c->pairs[i].timeline);
    }
    return 0;
}

static void clear_pairs(Core *c) {
    for (int64_t i = 0; i < c->npairs; i++) {
        Py_CLEAR(c->pairs[i].app);
        Py_CLEAR(c->pairs[i].ports);
        Py_CLEAR(c->pairs[i].timeline);
    }
    c->npairs = 0;
}

static int Core_clear(Core *c) {
#define CLEAR(name) Py_CLEAR(c->name);
    CORE_REFS(CLEAR)
#undef CLEAR
    for (int64_t i = 0; i < c->nflows; i++) {
        Flow *f = &c->flows[i];
        if (!f->serial) continue;
        Py_CLEAR(f->app);
        Py_CLEAR(f->timeline);
        Py_CLEAR(f->va);
        Py_CLEAR(f->vb);
        f->serial = 0;
    }
    clear_pairs(c);
    return 0;
}

static void Core_dealloc(Core *c) {
    PyObject_GC_UnTrack(c);
    Core_clear(c);
    PyMem_Free(c->flows);
    PyMem_Free(c->tab);
    PyMem_Free(c->fin);
    PyMem_Free(c->pairs);
    PyMem_Free(c->ptab);
    PyMem_Free(c->tun);
    Py_TYPE(c)->tp_free((PyObject *)c);
}

static PyMethodDef Core_methods[] = {
    {"frame", (PyCFunction)Core_frame, METH_VARARGS, "frame(buf, offset, captured, original, ts, linktype) -> int"},
    {"pcap", (PyCFunction)Core_pcap, METH_VARARGS,
     "pcap(buf, offset, big_endian, mul, linktype, run) -> (offset, records, stop, run)"},
    {"pcapng", (PyCFunction)Core_pcapng, METH_VARARGS,
     "pcapng(buf, offset, big_endian, ifaces, run) -> (offset, blocks, last_ts or None, run)"},
    {"finish", (PyCFunction)Core_finish, METH_NOARGS, "fold every flow and hand the pairs to the engine"},
    {"live", (PyCFunction)Core_live, METH_NOARGS, "number of flows in the table"},
    {"rules", (PyCFunction)Core_rules, METH_NOARGS, "the capture rules the core holds, as core.core_rules() packs them"},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject CoreType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "ipowner.capture._core.Core",
    .tp_basicsize = sizeof(Core),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "Flow table and frame walker bound to one Engine, for one input.",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Core_init,
    .tp_dealloc = (destructor)Core_dealloc,
    .tp_traverse = (traverseproc)Core_traverse,
    .tp_clear = (inquiry)Core_clear,
    .tp_methods = Core_methods,
};

static struct PyModuleDef coremodule = {
    PyModuleDef_HEAD_INIT, .m_name = "_core", .m_doc = "The compiled common path of the capture readers.", .m_size = -1};

PyMODINIT_FUNC PyInit__core(void) {
    if (!S_INSPECT && !(S_INSPECT = PyUnicode_InternFromString("inspect"))) return NULL;
    if (!S_FLOW && !(S_FLOW = PyUnicode_InternFromString("flow"))) return NULL;
    if (PyType_Ready(&CoreType) < 0) return NULL;
    PyObject *m = PyModule_Create(&coremodule);
    if (!m) return NULL;
    if (PyModule_AddObjectRef(m, "Core", (PyObject *)&CoreType) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
