/* The channel between the client and the server, shared by C programs and init.yaml. */
#ifndef KOS_ECHO_H
#define KOS_ECHO_H
#define ECHO_CONNECTION_ID "echo_connection"
#endif
