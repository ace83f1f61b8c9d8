// The Lua 5.4 side of the embedding benchmark (callbench is VecVM's): calls of small Lua functions
// from C through the C API, timed per call as callbench does. Build: gcc -O2 lua_call.c $(pkg-config
// --cflags --libs lua5.4). Usage: lua_call [CALLS [TRIALS [CASE]]] (a case name runs that case alone,
// for callgrind).
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int host_id(lua_State *L) { lua_pushinteger(L, luaL_checkinteger(L, 1)); return 1; }

static double now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e9 + t.tv_nsec;
}

static int cmp(const void *a, const void *b) { double x = *(double *)a, y = *(double *)b; return (x > y) - (x < y); }

// One call by name with one number argument, as vm.call("id", ...) does; returns the result.
static long long call1(lua_State *L, const char *name, int isFloat, long long i) {
    lua_getglobal(L, name);
    if (isFloat) { lua_pushnumber(L, (double)i); lua_pushnumber(L, 0.5); } else lua_pushinteger(L, i);
    if (lua_pcall(L, isFloat ? 2 : 1, 1, 0) != LUA_OK) { fprintf(stderr, "%s\n", lua_tostring(L, -1)); exit(1); }
    long long r = isFloat ? (long long)lua_tonumber(L, -1) : lua_tointeger(L, -1);
    lua_pop(L, 1);
    return r;
}

static const char *only;

static void measure(lua_State *L, const char *label, const char *name, int isFloat, long calls, int trials) {
    if (only && strcmp(only, label) != 0) return;
    long long check = 0;
    double perCall[64];
    for (long i = 0; i < 1000; i++) check += call1(L, name, isFloat, i);
    for (int t = 0; t < trials; t++) {
        double start = now_ns();
        for (long i = 0; i < calls; i++) check += call1(L, name, isFloat, i);
        perCall[t] = (now_ns() - start) / calls;
    }
    qsort(perCall, trials, sizeof(double), cmp);
    printf("bench case=%s ns_per_call=%.3f calls=%ld trials=%d check=%lld\n", label, perCall[trials / 2], calls,
           trials, check);
}

int main(int argc, char **argv) {
    long calls = argc > 1 ? atol(argv[1]) : 20000;
    int trials = argc > 2 ? atoi(argv[2]) : 5;
    if (trials < 1 || trials > 64) trials = 5;
    only = argc > 3 ? argv[3] : NULL;
    lua_State *L = luaL_newstate();
    luaL_openlibs(L);
    lua_register(L, "hostId", host_id);
    if (luaL_dostring(L, "function id(x) return x end\n"
                         "function add(a, b) return a + b end\n"
                         "function viaHost(x) return hostId(x) end") != LUA_OK) {
        fprintf(stderr, "%s\n", lua_tostring(L, -1));
        return 1;
    }
    measure(L, "id", "id", 0, calls, trials);
    measure(L, "add", "add", 1, calls, trials);
    measure(L, "via_host", "viaHost", 0, calls, trials);
    lua_close(L);
    return 0;
}
