#pragma once
#define SERVER_CONNECTION "server_connection"
