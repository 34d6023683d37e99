/* The built-in authenticator (beyond libzmq; czmq's zauth is the model): a ZAP handler
 * (RFC 27) on its own thread, bound at inproc://zeromq.zap.01 in one context, deciding
 * from lists the application configures from any thread:
 *
 *   1. the peer's address is denied, or an allow list exists without it: 400;
 *   2. NULL: 200;
 *   3. PLAIN: 200 if user=password is in the password file, else 400 (no file: 400);
 *   4. CURVE: 200 if the client's key is in the certificate directory or curve_any
 *      was called, else 400; the User-Id is the key in Z85, as zauth;
 *   5. any other mechanism: 400.
 *
 * Lists are swapped whole under the lock; the thread holds the lock only to decide. */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "security/auth.h"
#include "security/cert.h"
#include "security/zap.h"
#include "sinew.h"

#define AUTH_POLL_MS 100 /* how soon the thread notices destroy */
#define AUTH_FRAMES 10   /* request frames kept (PLAIN has 8 after the delimiter) */
#define AUTH_FIELD_MAX 255

typedef struct auth_user {
    char *name, *password;
} auth_user;

typedef struct sn_auth {
    void *sock; /* REP at the ZAP endpoint; the thread's alone */
    pthread_t thread;
    atomic_bool stop;

    pthread_mutex_t lock; /* everything below */
    char **allow, **deny;
    size_t nallow, ndeny;
    auth_user *users;
    size_t nusers;
    uint8_t (*keys)[32];
    size_t nkeys;
    bool curve_any;
} sn_auth;

/* ---- decisions ------------------------------------------------------------------------ */

static bool
listed(char **list, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i], s) == 0)
            return true;
    return false;
}

/* Lock held. Returns the status; *user gets the User-Id (NUL terminated). */
static int
auth_decide(sn_auth *a, char frames[][AUTH_FIELD_MAX + 1], const size_t *lens, int n,
            char *user)
{
    user[0] = '\0';
    /* After REP strips the delimiter: version, id, domain, address, identity,
     * mechanism, credentials. */
    if (n < 6 || strcmp(frames[0], "1.0") != 0)
        return 500;
    const char *address = frames[3], *mech = frames[5];
    if (listed(a->deny, a->ndeny, address) ||
        (a->nallow > 0 && !listed(a->allow, a->nallow, address)))
        return 400;
    if (strcmp(mech, "NULL") == 0)
        return n == 6 ? 200 : 400;
    if (strcmp(mech, "PLAIN") == 0) {
        if (n != 8)
            return 400;
        for (size_t i = 0; i < a->nusers; i++)
            if (strlen(a->users[i].name) == lens[6] && strcmp(a->users[i].name, frames[6]) == 0 &&
                strlen(a->users[i].password) == lens[7] &&
                strcmp(a->users[i].password, frames[7]) == 0) {
                strcpy(user, frames[6]);
                return 200;
            }
        return 400;
    }
    if (strcmp(mech, "CURVE") == 0) {
        if (n != 7 || lens[6] != 32)
            return 400;
        const uint8_t *key = (const uint8_t *) frames[6];
        bool ok = a->curve_any;
        for (size_t i = 0; !ok && i < a->nkeys; i++)
            ok = memcmp(a->keys[i], key, 32) == 0;
        if (ok)
            sinew_z85_encode(user, key, 32);
        return ok ? 200 : 400;
    }
    return 400;
}

static void *
auth_main(void *arg)
{
    sn_auth *a = arg;
    char frames[AUTH_FRAMES][AUTH_FIELD_MAX + 1];
    size_t lens[AUTH_FRAMES];
    while (!atomic_load(&a->stop)) {
        int n = 0, more = 1;
        bool oversized = false;
        while (more) {
            char buf[AUTH_FIELD_MAX + 1];
            int rc = sinew_recv(a->sock, buf, AUTH_FIELD_MAX, 0);
            if (rc < 0 && errno == ETERM) {
                /* The context ends: let go of the socket so sinew_ctx_term can finish
                 * (destroy still frees the rest). */
                sinew_close(a->sock);
                a->sock = NULL;
                return NULL;
            }
            if (rc < 0)
                break;
            if (rc > AUTH_FIELD_MAX)
                oversized = true; /* RFC 27: fields are at most 255 bytes */
            if (n < AUTH_FRAMES) {
                size_t l = rc > AUTH_FIELD_MAX ? AUTH_FIELD_MAX : (size_t) rc;
                memcpy(frames[n], buf, l);
                frames[n][l] = '\0';
                lens[n] = l;
            }
            n++;
            if (sinew_getsockopt_int(a->sock, SINEW_RCVMORE, &more) < 0)
                more = 0;
        }
        if (n == 0)
            continue; /* a timeout: look at stop again */
        char user[AUTH_FIELD_MAX + 1];
        int status = 400;
        if (n <= AUTH_FRAMES && !oversized) {
            pthread_mutex_lock(&a->lock);
            status = auth_decide(a, frames, lens, n, user);
            pthread_mutex_unlock(&a->lock);
        }
        if (status != 200)
            user[0] = '\0';
        char code[4];
        code[0] = (char) ('0' + status / 100);
        code[1] = code[2] = '0';
        code[3] = '\0';
        const char *text = status == 200 ? "OK" : "Refused";
        sinew_send(a->sock, "1.0", 3, SINEW_SNDMORE);
        sinew_send(a->sock, frames[1], n > 1 ? lens[1] : 0, SINEW_SNDMORE);
        sinew_send(a->sock, code, 3, SINEW_SNDMORE);
        sinew_send(a->sock, text, strlen(text), SINEW_SNDMORE);
        sinew_send(a->sock, user, strlen(user), SINEW_SNDMORE);
        sinew_send(a->sock, "", 0, 0);
    }
    return NULL;
}

/* ---- configuration ------------------------------------------------------------------ */

static sn_auth *
auth_of(void *handle)
{
    /* The handle is the object; a NULL one is the only invalid value we can tell. */
    return handle;
}

static int
fail(int e)
{
    errno = e;
    return -1;
}

static void
free_users(auth_user *u, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        volatile char *v = u[i].password;
        for (size_t k = 0; v != NULL && v[k] != '\0'; k++)
            v[k] = 0;
        free(u[i].name);
        free(u[i].password);
    }
    free(u);
}

static void
free_list(char **l, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(l[i]);
    free(l);
}

static int
add_address(sn_auth *a, const char *address, bool deny)
{
    if (a == NULL || address == NULL || address[0] == '\0' || strlen(address) > AUTH_FIELD_MAX)
        return fail(EINVAL);
    char *copy = strdup(address);
    if (copy == NULL)
        return fail(ENOMEM);
    pthread_mutex_lock(&a->lock);
    char ***list = deny ? &a->deny : &a->allow;
    size_t *n = deny ? &a->ndeny : &a->nallow;
    char **grown = realloc(*list, (*n + 1) * sizeof **list);
    if (grown == NULL) {
        pthread_mutex_unlock(&a->lock);
        free(copy);
        return fail(ENOMEM);
    }
    grown[(*n)++] = copy;
    *list = grown;
    pthread_mutex_unlock(&a->lock);
    return 0;
}

/* "user=password" lines; blank lines and '#' comments skipped. Anything else (no '=',
 * an empty user, a field over 255 bytes, a NUL) makes the whole file invalid. */
static int
parse_passwords(const char *text, size_t len, auth_user **out, size_t *nout)
{
    auth_user *users = NULL;
    size_t n = 0, pos = 0;
    int rc = 0;
    while (pos < len) {
        const char *line = text + pos;
        const char *nl = memchr(line, '\n', len - pos);
        size_t l = nl ? (size_t) (nl - line) : len - pos;
        pos += l + (nl ? 1 : 0);
        if (l > 0 && line[l - 1] == '\r')
            l--;
        if (l == 0 || line[0] == '#')
            continue;
        const char *eq = memchr(line, '=', l);
        if (eq == NULL || eq == line || memchr(line, '\0', l) != NULL ||
            (size_t) (eq - line) > AUTH_FIELD_MAX || l - (size_t) (eq - line) - 1 > AUTH_FIELD_MAX) {
            rc = -EINVAL;
            break;
        }
        auth_user *g = realloc(users, (n + 1) * sizeof *users);
        if (g == NULL) {
            rc = -ENOMEM;
            break;
        }
        users = g;
        users[n].name = strndup(line, (size_t) (eq - line));
        users[n].password = strndup(eq + 1, l - (size_t) (eq - line) - 1);
        n++;
        if (users[n - 1].name == NULL || users[n - 1].password == NULL) {
            rc = -ENOMEM;
            break;
        }
    }
    if (rc < 0) {
        free_users(users, n);
        return rc;
    }
    *out = users;
    *nout = n;
    return 0;
}

int
sn_auth_parse_passwords(const char *text, size_t len, size_t *count)
{
    auth_user *u;
    size_t n;
    int rc = parse_passwords(text, len, &u, &n);
    if (rc == 0) {
        *count = n;
        free_users(u, n);
    }
    return rc;
}

SINEW_EXPORT int
sinew_auth_plain_file(void *handle, const char *path)
{
    sn_auth *a = auth_of(handle);
    if (a == NULL || path == NULL)
        return fail(EINVAL);
    char *text;
    size_t len;
    int rc = sn_cert_read_file(path, &text, &len);
    if (rc < 0)
        return fail(-rc);
    auth_user *users;
    size_t n;
    rc = parse_passwords(text, len, &users, &n);
    volatile char *v = text;
    for (size_t i = 0; i < len; i++)
        v[i] = 0;
    free(text);
    if (rc < 0)
        return fail(-rc);
    pthread_mutex_lock(&a->lock);
    auth_user *old = a->users;
    size_t nold = a->nusers;
    a->users = users;
    a->nusers = n;
    pthread_mutex_unlock(&a->lock);
    free_users(old, nold);
    return 0;
}

static bool
ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

SINEW_EXPORT int
sinew_auth_curve_dir(void *handle, const char *path)
{
    sn_auth *a = auth_of(handle);
    if (a == NULL || path == NULL)
        return fail(EINVAL);
    DIR *d = opendir(path);
    if (d == NULL)
        return fail(errno);
    uint8_t (*keys)[32] = NULL;
    size_t n = 0;
    int rc = 0;
    struct dirent *de;
    while (rc == 0 && (de = readdir(d)) != NULL) {
        /* Public certificates only: hidden files and "_secret" files are skipped. */
        if (de->d_name[0] == '.' || ends_with(de->d_name, "_secret"))
            continue;
        size_t fl = strlen(path) + 1 + strlen(de->d_name) + 1;
        char *file = malloc(fl);
        if (file == NULL) {
            rc = -ENOMEM;
            break;
        }
        snprintf(file, fl, "%s/%s", path, de->d_name);
        char *text;
        size_t len;
        char pub[SN_CERT_KEY_Z85 + 1];
        rc = sn_cert_read_file(file, &text, &len);
        free(file);
        if (rc == -EINVAL && de->d_type == DT_DIR)
            rc = 0; /* a subdirectory: not ours to read */
        else if (rc == 0) {
            rc = sn_cert_parse(text, len, pub, NULL);
            free(text);
            uint8_t (*g)[32] = rc == 0 ? realloc(keys, (n + 1) * sizeof *keys) : NULL;
            if (rc == 0 && g == NULL)
                rc = -ENOMEM;
            if (rc == 0) {
                keys = g;
                sinew_z85_decode(keys[n++], pub);
            }
        }
    }
    closedir(d);
    if (rc < 0) {
        free(keys);
        return fail(-rc);
    }
    pthread_mutex_lock(&a->lock);
    uint8_t (*old)[32] = a->keys;
    a->keys = keys;
    a->nkeys = n;
    a->curve_any = false;
    pthread_mutex_unlock(&a->lock);
    free(old);
    return 0;
}

SINEW_EXPORT int
sinew_auth_curve_any(void *handle)
{
    sn_auth *a = auth_of(handle);
    if (a == NULL)
        return fail(EINVAL);
    pthread_mutex_lock(&a->lock);
    a->curve_any = true;
    pthread_mutex_unlock(&a->lock);
    return 0;
}

SINEW_EXPORT int
sinew_auth_allow(void *handle, const char *address)
{
    return add_address(auth_of(handle), address, false);
}

SINEW_EXPORT int
sinew_auth_deny(void *handle, const char *address)
{
    return add_address(auth_of(handle), address, true);
}

SINEW_EXPORT void *
sinew_auth_new(void *context)
{
    sn_auth *a = calloc(1, sizeof *a);
    if (a == NULL) {
        errno = ENOMEM;
        return NULL;
    }
    pthread_mutex_init(&a->lock, NULL);
    atomic_init(&a->stop, false);
    int e;
    a->sock = sinew_socket(context, SINEW_REP);
    if (a->sock == NULL)
        goto fail;
    int timeo = AUTH_POLL_MS, zero = 0;
    if (sinew_setsockopt(a->sock, SINEW_RCVTIMEO, &timeo, sizeof timeo) < 0 ||
        sinew_setsockopt(a->sock, SINEW_LINGER, &zero, sizeof zero) < 0 ||
        sinew_bind(a->sock, SN_ZAP_ENDPOINT) < 0) /* EADDRINUSE: a handler is there */
        goto fail;
    if ((e = pthread_create(&a->thread, NULL, auth_main, a)) != 0) {
        errno = e;
        goto fail;
    }
    return a;
fail:
    e = errno;
    if (a->sock != NULL)
        sinew_close(a->sock);
    pthread_mutex_destroy(&a->lock);
    free(a);
    errno = e;
    return NULL;
}

SINEW_EXPORT int
sinew_auth_destroy(void *handle)
{
    sn_auth *a = auth_of(handle);
    if (a == NULL)
        return fail(EINVAL);
    atomic_store(&a->stop, true);
    pthread_join(a->thread, NULL);
    if (a->sock != NULL)
        sinew_close(a->sock);
    free_list(a->allow, a->nallow);
    free_list(a->deny, a->ndeny);
    free_users(a->users, a->nusers);
    free(a->keys);
    pthread_mutex_destroy(&a->lock);
    free(a);
    return 0;
}
