/* weather: publish-subscribe with a topic filter (PUB and SUB), the ZeroMQ guide's
 * weather server and client in one program.
 *
 * The publisher sends weather updates "zipcode temperature humidity" for ten zip codes;
 * the subscriber subscribes to the prefix "10001 " only, so it receives the updates for
 * that zip code and nothing else (the filtering happens at the publisher, for tcp and
 * ipc, once the subscription has reached it). It averages 20 temperatures.
 *
 * A PUB discards what it publishes while nobody has subscribed: sinew_wait_peers waits
 * until the subscriber's subscription arrived (the guide's version loses the first
 * updates, the "slow joiner" problem).
 *
 * Run: ./examples/weather            (optional argument: the zip code to follow) */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sinew.h"

#define UPDATES 20

static void *
publisher(void *pub)
{
    unsigned seed = 42;
    for (long n = 0;; n++) {
        char update[64];
        int zip = 10000 + (int) (rand_r(&seed) % 10);
        int temperature = (int) (rand_r(&seed) % 60) - 20;
        int humidity = 10 + (int) (rand_r(&seed) % 60);
        int len = snprintf(update, sizeof update, "%05d %d %d", zip, temperature, humidity);
        if (sinew_send(pub, update, (size_t) len, 0) < 0)
            break; /* ETERM: main shut the context down */
        if (n % 100 == 99) {
            struct timespec ts = {0, 1000000}; /* 1 ms per 100 updates: a calm feed */
            nanosleep(&ts, NULL);
        }
    }
    sinew_close(pub);
    return NULL;
}

int
main(int argc, char **argv)
{
    const char *zip = argc > 1 ? argv[1] : "10001";
    void *ctx = sinew_ctx_new();
    void *pub = sinew_socket(ctx, SINEW_PUB);
    char endpoint[256];
    size_t len = sizeof endpoint;
    sinew_bind(pub, "tcp://127.0.0.1:*");
    sinew_getsockopt(pub, SINEW_LAST_ENDPOINT, endpoint, &len);

    void *sub = sinew_socket(ctx, SINEW_SUB);
    char filter[16];
    int flen = snprintf(filter, sizeof filter, "%s ", zip); /* "10001 ", not "100011" */
    sinew_setsockopt(sub, SINEW_SUBSCRIBE, filter, (size_t) flen);
    sinew_setsockopt_int(sub, SINEW_RCVTIMEO, 5000);
    sinew_connect(sub, endpoint);

    /* One subscriber, subscribed: from now on nothing it wants is lost. */
    if (sinew_wait_peers(pub, 1, 5000) < 0) {
        fprintf(stderr, "no subscriber: %s\n", sinew_strerror(errno));
        return 1;
    }
    pthread_t t;
    pthread_create(&t, NULL, publisher, pub);

    long sum = 0;
    int got = 0;
    for (; got < UPDATES; got++) {
        char update[64];
        int n = sinew_recv(sub, update, sizeof update - 1, 0);
        if (n < 0)
            break;
        update[n < (int) sizeof update - 1 ? n : (int) sizeof update - 1] = '\0';
        if (strncmp(update, filter, (size_t) flen) != 0) {
            fprintf(stderr, "unexpected update \"%s\"\n", update);
            return 1;
        }
        int z, temperature, humidity;
        sscanf(update, "%d %d %d", &z, &temperature, &humidity);
        sum += temperature;
    }
    if (got > 0)
        printf("average temperature for zip code %s over %d updates: %.1f C\n", zip, got,
               (double) sum / got);

    sinew_close(sub);
    sinew_ctx_shutdown(ctx); /* the publisher's send returns ETERM */
    pthread_join(t, NULL);
    sinew_ctx_term(ctx);
    return got == UPDATES ? 0 : 1;
}
