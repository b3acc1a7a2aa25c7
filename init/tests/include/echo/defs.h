#ifndef ECHO_DEFS_H
#define ECHO_DEFS_H
#define ECHO_NAME "echo"   /* the name of the channel */
#define ECHO_CONNECTION_ID ECHO_NAME
#endif
