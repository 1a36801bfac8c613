#ifndef XP_VERSION_H
#define XP_VERSION_H
#define XOTPROXY_VERSION "0.1.0"
#endif
