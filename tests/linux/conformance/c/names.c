/* c-names: resolving names as a C program does, through musl's getaddrinfo and getnameinfo
 * and the files they read (/etc/hosts, /etc/resolv.conf; docs/linux.md, "Names"). Only
 * what every Linux host and Ostrog agree on: `localhost` is 127.0.0.1 (IPv4 asked for),
 * numeric hosts and services, the refusals of AI_NUMERICHOST and AI_NUMERICSERV. No
 * question leaves the machine: every name here is in /etc/hosts or numeric. */
#include "conf.h"
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>

/* The IPv4 address and port of a getaddrinfo result, as a.b.c.d:port in one number. */
static long addr_port(const struct addrinfo *ai) {
    if (ai == NULL || ai->ai_family != AF_INET || ai->ai_addrlen != sizeof(struct sockaddr_in)) {
        return -1;
    }
    const struct sockaddr_in *sin = (const struct sockaddr_in *)ai->ai_addr;
    return (long)ntohl(sin->sin_addr.s_addr) * 65536 + ntohs(sin->sin_port);
}

static long ip_port(unsigned a, unsigned b, unsigned c, unsigned d, unsigned port) {
    return (long)((a << 24) | (b << 16) | (c << 8) | d) * 65536 + port;
}

int main(void) {
    conf_start("c-names");
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    CHECK("getaddrinfo_localhost", getaddrinfo("localhost", "8080", &hints, &res), 0);
    CHECK("getaddrinfo_localhost_is_127_0_0_1", addr_port(res), ip_port(127, 0, 0, 1, 8080));
    CHECK("getaddrinfo_localhost_one_stream_result", res != NULL && res->ai_next == NULL, 1);
    CHECK("getaddrinfo_localhost_tcp", res != NULL && res->ai_protocol == IPPROTO_TCP, 1);
    if (res != NULL) {
        freeaddrinfo(res);
        res = NULL;
    }

    hints.ai_flags = AI_NUMERICHOST;
    CHECK("getaddrinfo_numeric_host", getaddrinfo("10.0.2.100", "80", &hints, &res), 0);
    CHECK("getaddrinfo_numeric_host_address", addr_port(res), ip_port(10, 0, 2, 100, 80));
    if (res != NULL) {
        freeaddrinfo(res);
        res = NULL;
    }
    CHECK("getaddrinfo_numerichost_of_a_name_eai_noname",
          getaddrinfo("localhost", "80", &hints, &res), EAI_NONAME);
    hints.ai_flags = AI_NUMERICSERV;
    CHECK("getaddrinfo_numericserv_of_a_name_eai_noname",
          getaddrinfo("127.0.0.1", "http", &hints, &res), EAI_NONAME);
    hints.ai_flags = 0;
    CHECK("getaddrinfo_no_host_no_service_eai_noname", getaddrinfo(NULL, NULL, &hints, &res),
          EAI_NONAME);
    hints.ai_flags = AI_PASSIVE;
    CHECK("getaddrinfo_passive_any", getaddrinfo(NULL, "9000", &hints, &res), 0);
    CHECK("getaddrinfo_passive_any_address", addr_port(res), ip_port(0, 0, 0, 0, 9000));
    if (res != NULL) {
        freeaddrinfo(res);
        res = NULL;
    }

    struct sockaddr_in sin = {0};
    sin.sin_family = AF_INET;
    sin.sin_port = htons(80);
    sin.sin_addr.s_addr = htonl(0x7f000001);
    char host[64] = {0}, serv[16] = {0};
    CHECK("getnameinfo_127_0_0_1",
          getnameinfo((struct sockaddr *)&sin, sizeof sin, host, sizeof host, serv, sizeof serv,
                      NI_NAMEREQD | NI_NUMERICSERV),
          0);
    CHECK("getnameinfo_127_0_0_1_is_localhost", strcmp(host, "localhost"), 0);
    CHECK("getnameinfo_numeric_service", strcmp(serv, "80"), 0);
    CHECK("getnameinfo_numerichost",
          getnameinfo((struct sockaddr *)&sin, sizeof sin, host, sizeof host, NULL, 0,
                      NI_NUMERICHOST),
          0);
    CHECK("getnameinfo_numerichost_text", strcmp(host, "127.0.0.1"), 0);

    struct stat st;
    CHECK_RES("stat_etc_hosts", stat("/etc/hosts", &st), 0);
    CHECK("etc_hosts_is_a_regular_file", S_ISREG(st.st_mode), 1);
    FILE *f = fopen("/etc/resolv.conf", "r");
    CHECK("etc_resolv_conf_readable", f != NULL, 1);
    if (f != NULL) {
        fclose(f);
    }
    return conf_end();
}
