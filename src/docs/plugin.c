/*
 * plugin.c: Lua 5.4 plugins, dip's counterpart of PGSync's Python plugin classes (as
 * Fluent Bit's Lua filter is to its C filters).
 *
 * Names to files: each name of the schema's "plugins" list is looked up as NAME.lua in the
 * directories of $DIP_PLUGIN_PATH (colon-separated, in order), then in the "plugins"
 * directory beside schema.json. A name ending in ".lua" is a path instead (relative to the
 * directory of schema.json unless absolute). Other names must be [A-Za-z0-9_-]+, so a name
 * never walks out of the directories.
 *
 * A script is a chunk that returns a function:
 *
 *     return function(doc, meta)   -- meta._id, meta._index
 *       doc.slug = ...
 *       return doc                 -- or nil to drop the document
 *     end
 *
 * Scripts run in order, each on the previous one's result, as PGSync's Plugins.transform
 * chains them. Every script has its own global table (reading through to a shared sandbox
 * of the base, string, table, math and utf8 libraries; no io, os, package, debug, dofile,
 * loadfile or require), so one script's globals never leak into another.
 *
 * The document as a Lua table: JSON objects and arrays become tables marked with the
 * metatables dip.object_mt / dip.array_mt, so an empty array stays an array on the way back;
 * JSON null is the sentinel dip.null (a table field cannot hold nil); integers stay Lua
 * integers and reals Lua floats (1.0 comes back as 1.0, 1 as 1). Tables a script makes
 * itself are arrays when their keys are exactly 1..n (n >= 1), objects when every key is a
 * string; an empty unmarked table is an object ({}): use dip.array() for an empty array.
 * Anything else (a function, a mixed table, NaN, a cycle deeper than 64 levels, bytes that
 * are not UTF-8) is an error naming the script.
 *
 * Bounds: a run (one script on one document, or the script's top level at load) may execute
 * at most max_instructions VM instructions (a count hook every 1,000), and the state may hold
 * at most DIP_PLUGIN_MAX_MEMORY bytes (default 256 MiB) through its allocator; past either
 * the run fails with an error naming the script.
 */
#include "docs/docs_internal.h"

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define PLUGIN_DEFAULT_INSTRUCTIONS 10000000LL
#define PLUGIN_HOOK_EVERY 1000
#define PLUGIN_MAX_DEPTH 64

typedef struct Plugin {
    char *name;
    char *path;
    int ref; /* registry reference of the script's function */
} Plugin;

struct DocsPlugins {
    lua_State *L;
    Plugin *plugins;
    size_t nplugins;
    int64_t max_instructions;
    int64_t used; /* instructions counted in the current run */
    size_t mem_used;
    size_t mem_limit;
    bool limit_on; /* the limits hold while a script runs (conversions never fail midway) */
    int ref_null, ref_array_mt, ref_object_mt;
};

/* ---------------------------------------------------------------- state */

static void *plugin_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    DocsPlugins *p = ud;
    size_t old = ptr ? osize : 0;
    if (nsize == 0) {
        free(ptr);
        p->mem_used -= old;
        return NULL;
    }
    if (p->limit_on && nsize > old && p->mem_used - old + nsize > p->mem_limit) return NULL;
    void *n = realloc(ptr, nsize);
    if (!n) return NULL;
    p->mem_used = p->mem_used - old + nsize;
    return n;
}

static void plugin_hook(lua_State *L, lua_Debug *ar)
{
    (void)ar;
    DocsPlugins *p = *(DocsPlugins **)lua_getextraspace(L);
    p->used += PLUGIN_HOOK_EVERY;
    if (p->used > p->max_instructions)
        luaL_error(L, "instruction limit of %I exceeded (a runaway loop?)",
                   (lua_Integer)p->max_instructions);
}

static int push_marked(lua_State *L, bool array)
{
    DocsPlugins *p = *(DocsPlugins **)lua_getextraspace(L);
    lua_newtable(L);
    lua_rawgeti(L, LUA_REGISTRYINDEX, array ? p->ref_array_mt : p->ref_object_mt);
    lua_setmetatable(L, -2);
    return 1;
}

static int lua_new_array(lua_State *L)
{
    return push_marked(L, true);
}

static int lua_new_object(lua_State *L)
{
    return push_marked(L, false);
}

/* A table {key = value} stored as field `name` of the table on top and in the registry
 * (returns the reference): dip.null and the array/object metatables. */
static int marker_table(lua_State *L, const char *key, const char *value, const char *name)
{
    lua_newtable(L);
    lua_pushstring(L, value);
    lua_setfield(L, -2, key);
    lua_pushvalue(L, -1);
    int ref = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_setfield(L, -2, name);
    return ref;
}

/* The sandbox: safe libraries only, plus the dip table (null, array(), object(), the two
 * metatables). */
static void state_setup(DocsPlugins *p)
{
    lua_State *L = p->L;
    static const luaL_Reg libs[] = {
        {LUA_GNAME, luaopen_base},       {LUA_STRLIBNAME, luaopen_string},
        {LUA_TABLIBNAME, luaopen_table}, {LUA_MATHLIBNAME, luaopen_math},
        {LUA_UTF8LIBNAME, luaopen_utf8}, {NULL, NULL}};
    for (const luaL_Reg *l = libs; l->func; l++) {
        luaL_requiref(L, l->name, l->func, 1);
        lua_pop(L, 1);
    }
    static const char *const removed[] = {"dofile", "loadfile", "require", "collectgarbage", NULL};
    for (const char *const *r = removed; *r; r++) {
        lua_pushnil(L);
        lua_setglobal(L, *r);
    }
    lua_newtable(L); /* dip */
    p->ref_null = marker_table(L, "__name", "dip.null", "null");
    p->ref_array_mt = marker_table(L, "__jsontype", "array", "array_mt");
    p->ref_object_mt = marker_table(L, "__jsontype", "object", "object_mt");
    lua_pushcfunction(L, lua_new_array);
    lua_setfield(L, -2, "array");
    lua_pushcfunction(L, lua_new_object);
    lua_setfield(L, -2, "object");
    lua_setglobal(L, "dip");
}

/* ---------------------------------------------------------------- JSON <-> Lua */

static void push_json(DocsPlugins *p, const json_t *v)
{
    lua_State *L = p->L;
    luaL_checkstack(L, 4, "document nested too deeply");
    switch (json_typeof(v)) {
    case JSON_NULL:
        lua_rawgeti(L, LUA_REGISTRYINDEX, p->ref_null);
        break;
    case JSON_TRUE:
        lua_pushboolean(L, 1);
        break;
    case JSON_FALSE:
        lua_pushboolean(L, 0);
        break;
    case JSON_INTEGER:
        lua_pushinteger(L, (lua_Integer)json_integer_value(v));
        break;
    case JSON_REAL:
        lua_pushnumber(L, json_real_value(v));
        break;
    case JSON_STRING:
        lua_pushlstring(L, json_string_value(v), json_string_length(v));
        break;
    case JSON_ARRAY: {
        size_t n = json_array_size(v);
        lua_createtable(L, n > INT32_MAX ? 0 : (int)n, 0);
        lua_rawgeti(L, LUA_REGISTRYINDEX, p->ref_array_mt);
        lua_setmetatable(L, -2);
        for (size_t i = 0; i < n; i++) {
            push_json(p, json_array_get(v, i));
            lua_rawseti(L, -2, (lua_Integer)i + 1);
        }
        break;
    }
    case JSON_OBJECT: {
        lua_createtable(L, 0, (int)json_object_size(v));
        lua_rawgeti(L, LUA_REGISTRYINDEX, p->ref_object_mt);
        lua_setmetatable(L, -2);
        const char *k;
        json_t *x;
        json_object_foreach((json_t *)v, k, x)
        {
            lua_pushstring(L, k);
            push_json(p, x);
            lua_rawset(L, -3);
        }
        break;
    }
    }
}

/* 0 = unmarked, 1 = array, 2 = object */
static int table_mark(DocsPlugins *p, int idx)
{
    lua_State *L = p->L;
    if (!lua_getmetatable(L, idx)) return 0;
    lua_rawgeti(L, LUA_REGISTRYINDEX, p->ref_array_mt);
    bool arr = lua_rawequal(L, -1, -2);
    lua_pop(L, 1);
    lua_rawgeti(L, LUA_REGISTRYINDEX, p->ref_object_mt);
    bool obj = lua_rawequal(L, -1, -2);
    lua_pop(L, 2);
    return arr ? 1 : obj ? 2 : 0;
}

static json_t *to_json(DocsPlugins *p, int idx, int depth, Buf *why);

static json_t *table_to_array(DocsPlugins *p, int idx, lua_Integer n, int depth, Buf *why)
{
    lua_State *L = p->L;
    json_t *a = json_array();
    for (lua_Integer i = 1; i <= n; i++) {
        lua_rawgeti(L, idx, i);
        json_t *x = lua_isnil(L, -1) ? json_null() : to_json(p, lua_gettop(L), depth + 1, why);
        lua_pop(L, 1);
        if (!x) {
            json_decref(a);
            return NULL;
        }
        json_array_append_new(a, x);
    }
    return a;
}

static json_t *to_json(DocsPlugins *p, int idx, int depth, Buf *why)
{
    lua_State *L = p->L;
    if (depth > PLUGIN_MAX_DEPTH) {
        buf_printf(why, "the document is nested deeper than %d levels (a table holding itself?)",
                   PLUGIN_MAX_DEPTH);
        return NULL;
    }
    switch (lua_type(L, idx)) {
    case LUA_TNIL:
        return json_null();
    case LUA_TBOOLEAN:
        return json_boolean(lua_toboolean(L, idx));
    case LUA_TNUMBER:
        if (lua_isinteger(L, idx)) return json_integer((json_int_t)lua_tointeger(L, idx));
        {
            double d = lua_tonumber(L, idx);
            if (!isfinite(d)) {
                buf_printf(why, "the number %g has no JSON form", d);
                return NULL;
            }
            return json_real(d);
        }
    case LUA_TSTRING: {
        size_t n;
        const char *s = lua_tolstring(L, idx, &n);
        json_t *x = json_stringn(s, n);
        if (!x) buf_append_str(why, "a string that is not valid UTF-8");
        return x;
    }
    case LUA_TTABLE:
        break;
    default:
        lua_rawgeti(L, LUA_REGISTRYINDEX, p->ref_null);
        bool is_null = lua_rawequal(L, -1, idx);
        lua_pop(L, 1);
        if (is_null) return json_null();
        buf_printf(why, "a %s has no JSON form", luaL_typename(L, idx));
        return NULL;
    }
    lua_rawgeti(L, LUA_REGISTRYINDEX, p->ref_null);
    bool is_null = lua_rawequal(L, -1, idx);
    lua_pop(L, 1);
    if (is_null) return json_null();
    if (!lua_checkstack(L, 6)) {
        buf_append_str(why, "the document is nested too deeply for the Lua stack");
        return NULL;
    }
    int mark = table_mark(p, idx);
    /* scan keys: count, string keys, integer keys 1..n */
    lua_Integer maxi = 0, nint = 0, nstr = 0, nother = 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_pop(L, 1);
        if (lua_type(L, -1) == LUA_TSTRING)
            nstr++;
        else if (lua_isinteger(L, -1) && lua_tointeger(L, -1) >= 1) {
            nint++;
            if (lua_tointeger(L, -1) > maxi) maxi = lua_tointeger(L, -1);
        } else
            nother++;
    }
    if (mark == 1 || (mark == 0 && nint > 0 && nstr == 0 && nother == 0 && maxi == nint)) {
        if (nstr || nother) {
            buf_append_str(why, "an array (dip.array_mt) with non-integer keys");
            return NULL;
        }
        if (maxi > 10000000) {
            buf_append_str(why, "an array with more than 10,000,000 elements");
            return NULL;
        }
        return table_to_array(p, idx, maxi, depth, why);
    }
    if (nint || nother) {
        buf_append_str(why, "a table mixing array and object keys (use string keys for an "
                            "object, 1..n for an array)");
        return NULL;
    }
    json_t *o = json_object();
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        size_t kl;
        const char *k = lua_tolstring(L, -2, &kl);
        json_t *x = to_json(p, lua_gettop(L), depth + 1, why);
        bool ok = x != NULL;
        if (ok && strlen(k) != kl) {
            json_decref(x);
            ok = false;
            buf_append_str(why, "an object key with a NUL character");
        } else if (ok && json_object_setn_new(o, k, kl, x) != 0) {
            /* setn_new released x already */
            ok = false;
            buf_append_str(why, "an object key that is not valid UTF-8");
        }
        if (!ok) {
            lua_pop(L, 2);
            json_decref(o);
            return NULL;
        }
        lua_pop(L, 1);
    }
    return o;
}

/* ---------------------------------------------------------------- loading */

static bool plugin_name_ok(const char *name)
{
    if (!*name) return false;
    for (const char *c = name; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
              *c == '_' || *c == '-'))
            return false;
    return true;
}

static bool file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static bool plugin_find(const DocsSchema *s, const DocsDocument *d, size_t i, char **out,
                        DipError *err)
{
    const char *name = d->plugins[i];
    Buf path;
    buf_init(&path);
    *out = NULL;
    if (ends_with(name, ".lua")) {
        if (name[0] == '/')
            buf_append_str(&path, name);
        else
            buf_printf(&path, "%s/%s", s->dir, name);
        if (file_exists(buf_cstr(&path))) *out = dip_strdup(buf_cstr(&path));
        bool ok = *out != NULL;
        if (!ok)
            dip_error_set(err, DIP_ERR_CONFIG, "%s: %s.plugins[%zu]: plugin file %s not found",
                          d->file, d->path, i, buf_cstr(&path));
        buf_free(&path);
        return ok;
    }
    if (!plugin_name_ok(name)) {
        buf_free(&path);
        return dip_error_set(err, DIP_ERR_CONFIG,
                             "%s: %s.plugins[%zu]: \"%s\": expected a name of letters, digits, "
                             "_ and - (looked up as NAME.lua) or a path ending in .lua",
                             d->file, d->path, i, name);
    }
    Buf tried;
    buf_init(&tried);
    const char *env = getenv("DIP_PLUGIN_PATH");
    char *dirs = dip_strdup(env ? env : "");
    char *save = NULL;
    for (char *dir = strtok_r(dirs, ":", &save); dir && !*out; dir = strtok_r(NULL, ":", &save)) {
        buf_clear(&path);
        buf_printf(&path, "%s/%s.lua", dir, name);
        buf_printf(&tried, "%s%s", tried.len ? ", " : "", buf_cstr(&path));
        if (file_exists(buf_cstr(&path))) *out = dip_strdup(buf_cstr(&path));
    }
    free(dirs);
    if (!*out) {
        buf_clear(&path);
        buf_printf(&path, "%s/plugins/%s.lua", s->dir, name);
        buf_printf(&tried, "%s%s", tried.len ? ", " : "", buf_cstr(&path));
        if (file_exists(buf_cstr(&path))) *out = dip_strdup(buf_cstr(&path));
    }
    if (!*out)
        dip_error_set(err, DIP_ERR_CONFIG,
                      "%s: %s.plugins[%zu]: plugin \"%s\" not found (tried %s; set "
                      "DIP_PLUGIN_PATH)",
                      d->file, d->path, i, name, buf_cstr(&tried));
    buf_free(&path);
    buf_free(&tried);
    return *out != NULL;
}

static void run_begin(DocsPlugins *p)
{
    p->used = 0;
    p->limit_on = true;
    lua_sethook(p->L, plugin_hook, LUA_MASKCOUNT, PLUGIN_HOOK_EVERY);
}

static void run_end(DocsPlugins *p)
{
    p->limit_on = false;
    lua_sethook(p->L, NULL, 0, 0);
}

static bool plugin_load(DocsPlugins *p, Plugin *pl, DipError *err)
{
    lua_State *L = p->L;
    int top = lua_gettop(L);
    /* text only ("t"): precompiled bytecode can crash the VM */
    int rc = luaL_loadfilex(L, pl->path, "t");
    if (rc != LUA_OK) {
        bool r = dip_error_set(err, DIP_ERR_CONFIG, "plugin %s: %s", pl->name,
                               lua_tostring(L, -1) ? lua_tostring(L, -1) : "cannot load");
        lua_settop(L, top);
        return r;
    }
    /* its own globals, reading through to the sandbox */
    lua_newtable(L);
    lua_newtable(L);
    lua_pushglobaltable(L);
    lua_setfield(L, -2, "__index");
    lua_setmetatable(L, -2);
    if (!lua_setupvalue(L, -2, 1)) lua_pop(L, 1);
    run_begin(p);
    rc = lua_pcall(L, 0, 1, 0);
    run_end(p);
    if (rc != LUA_OK) {
        bool r = dip_error_set(err, DIP_ERR_CONFIG, "plugin %s: %s", pl->name,
                               lua_tostring(L, -1) ? lua_tostring(L, -1) : "error while loading");
        lua_settop(L, top);
        return r;
    }
    if (!lua_isfunction(L, -1)) {
        bool r = dip_error_set(err, DIP_ERR_CONFIG,
                               "plugin %s: %s returned %s: expected `return function(doc, meta) "
                               "... end`",
                               pl->name, pl->path, luaL_typename(L, -1));
        lua_settop(L, top);
        return r;
    }
    pl->ref = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_settop(L, top);
    return true;
}

bool docs_plugins_open(const DocsSchema *s, const DocsDocument *d, int64_t max_instructions,
                       DocsPlugins **out, DipError *err)
{
    *out = NULL;
    if (!d->nplugins) return true;
    int64_t limit = max_instructions;
    if (limit <= 0 &&
        !config_env_int("DIP_PLUGIN_MAX_INSTRUCTIONS", PLUGIN_DEFAULT_INSTRUCTIONS, &limit, err))
        return false;
    int64_t mem = 0;
    if (!config_env_int("DIP_PLUGIN_MAX_MEMORY", 256LL << 20, &mem, err)) return false;
    if (limit <= 0 || mem < (1 << 20))
        return dip_error_set(err, DIP_ERR_CONFIG,
                             "DIP_PLUGIN_MAX_INSTRUCTIONS must be positive and "
                             "DIP_PLUGIN_MAX_MEMORY at least 1 MiB");
    DocsPlugins *p = dip_calloc(1, sizeof *p);
    p->max_instructions = limit;
    p->mem_limit = (size_t)mem;
    p->L = lua_newstate(plugin_alloc, p);
    if (!p->L) {
        free(p);
        return dip_error_set(err, DIP_ERR_INTERNAL, "plugins: cannot create a Lua state");
    }
    *(DocsPlugins **)lua_getextraspace(p->L) = p;
    state_setup(p);
    p->plugins = dip_calloc(d->nplugins, sizeof(Plugin));
    for (size_t i = 0; i < d->nplugins; i++) {
        Plugin *pl = &p->plugins[p->nplugins++];
        pl->ref = LUA_NOREF;
        pl->name = dip_strdup(d->plugins[i]);
        if (!plugin_find(s, d, i, &pl->path, err) || !plugin_load(p, pl, err)) {
            docs_plugins_close(p);
            return false;
        }
    }
    *out = p;
    return true;
}

bool docs_plugins_apply(DocsPlugins *p, json_t **doc, const char *meta_id, const char *meta_index,
                        DipError *err)
{
    if (!p || !*doc) return true;
    lua_State *L = p->L;
    int top = lua_gettop(L);
    push_json(p, *doc); /* top+1: the current document */
    bool ok = true;
    bool dropped = false;
    json_t *result = NULL;
    for (size_t i = 0; i < p->nplugins && ok; i++) {
        Plugin *pl = &p->plugins[i];
        lua_rawgeti(L, LUA_REGISTRYINDEX, pl->ref);
        lua_pushvalue(L, top + 1);
        lua_createtable(L, 0, 2);
        lua_pushstring(L, meta_id ? meta_id : "");
        lua_setfield(L, -2, "_id");
        lua_pushstring(L, meta_index ? meta_index : "");
        lua_setfield(L, -2, "_index");
        run_begin(p);
        int rc = lua_pcall(L, 2, 1, 0);
        run_end(p);
        if (rc != LUA_OK) {
            ok = dip_error_set(err, DIP_ERR_DATA, "plugin %s (document %s): %s", pl->name,
                               meta_id ? meta_id : "?",
                               lua_tostring(L, -1) ? lua_tostring(L, -1) : "error");
            break;
        }
        if (lua_isnil(L, -1)) {
            dropped = true;
            break;
        }
        if (!lua_istable(L, -1)) {
            ok = dip_error_set(err, DIP_ERR_DATA,
                               "plugin %s (document %s): returned %s, expected the document (a "
                               "table) or nil",
                               pl->name, meta_id ? meta_id : "?", luaL_typename(L, -1));
            break;
        }
        lua_replace(L, top + 1);
        /* converted after each script so a bad value names the script that made it */
        Buf why;
        buf_init(&why);
        json_t *out = to_json(p, top + 1, 0, &why);
        if (!out || !json_is_object(out)) {
            ok = dip_error_set(err, DIP_ERR_DATA,
                               "plugin %s (document %s): its result cannot be indexed: %s",
                               pl->name, meta_id ? meta_id : "?",
                               out ? "an array, not an object" : buf_cstr(&why));
        } else {
            json_decref(result);
            result = json_incref(out);
        }
        json_decref(out);
        buf_free(&why);
    }
    if (ok && dropped) {
        json_decref(*doc);
        *doc = NULL;
    } else if (ok && result) {
        json_decref(*doc);
        *doc = json_incref(result);
    }
    json_decref(result);
    lua_settop(L, top);
    return ok;
}

void docs_plugins_close(DocsPlugins *p)
{
    if (!p) return;
    if (p->L) lua_close(p->L);
    for (size_t i = 0; i < p->nplugins; i++) {
        free(p->plugins[i].name);
        free(p->plugins[i].path);
    }
    free(p->plugins);
    free(p);
}
