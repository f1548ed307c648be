/* SPDX-License-Identifier: BSD-3-Clause */
/* vpndrive.c — drives pam_vendor's OpenVPN plugin through the entry points OpenVPN calls
 * (open_v3, client constructor, CLIENT_CONNECT_V2, CLIENT_DISCONNECT, destructor, close), as
 * many times as asked, to show in seconds what thousands of real tunnels would take hours to:
 * the root helper's descriptors and memory stay flat. Prints, one per line:
 *   allowed N / refused N / helper_fds AFTER_WARMUP AT_END / helper_rss_kb AFTER_WARMUP AT_END
 * Usage: vpndrive PLUGIN.so CONFIG USER RHOST COUNT */
#include <dirent.h>
#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include <openvpn/openvpn-plugin.h>

#define WARMUP 50

struct entry_points {
	int (*open)(const int, struct openvpn_plugin_args_open_in const *,
	            struct openvpn_plugin_args_open_return *);
	int (*func)(const int, struct openvpn_plugin_args_func_in const *,
	            struct openvpn_plugin_args_func_return *);
	void *(*construct)(openvpn_plugin_handle_t);
	void (*destruct)(openvpn_plugin_handle_t, void *);
	void (*close)(openvpn_plugin_handle_t);
};

static void drive_log(openvpn_plugin_log_flags_t flags, const char *name, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "%s: ", name);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

/* The helper is our only child. */
static pid_t helper_pid(void)
{
	char path[64];
	char line[256];
	DIR *d = opendir("/proc");
	struct dirent *de;
	pid_t found = -1;

	while (d != NULL && (de = readdir(d)) != NULL && found < 0) {
		FILE *f;
		snprintf(path, sizeof(path), "/proc/%.16s/status", de->d_name);
		f = fopen(path, "re");
		if (f == NULL)
			continue;
		while (fgets(line, sizeof(line), f) != NULL)
			if (strncmp(line, "PPid:", 5) == 0 && atol(line + 5) == (long)getpid())
				found = (pid_t)atol(de->d_name);
		fclose(f);
	}
	if (d != NULL)
		closedir(d);
	return found;
}

static long count_fds(pid_t pid)
{
	char path[64];
	DIR *d;
	long n = 0;

	snprintf(path, sizeof(path), "/proc/%ld/fd", (long)pid);
	d = opendir(path);
	if (d == NULL)
		return -1;
	while (readdir(d) != NULL)
		n++;
	closedir(d);
	return n - 2; /* . and .. */
}

static long rss_kb(pid_t pid)
{
	char path[64];
	char line[256];
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
	f = fopen(path, "re");
	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, "VmRSS:", 6) == 0)
			kb = atol(line + 6);
	fclose(f);
	return kb;
}

static void free_list(struct openvpn_plugin_string_list *l)
{
	while (l != NULL) {
		struct openvpn_plugin_string_list *next = l->next;
		free(l->name);
		free(l->value);
		free(l);
		l = next;
	}
}

static int call(const struct entry_points *ep, openvpn_plugin_handle_t h, void *client, int type,
                const char **envp)
{
	struct openvpn_plugin_string_list *list = NULL;
	const char *argv[] = {"plugin", NULL};
	struct openvpn_plugin_args_func_in in = {
	    .type = type, .argv = argv, .envp = envp, .handle = h, .per_client_context = client};
	struct openvpn_plugin_args_func_return out = {.return_list = &list};
	int rc = ep->func(OPENVPN_PLUGINv3_STRUCTVER, &in, &out);

	free_list(list);
	return rc;
}

int main(int argc, char **argv)
{
	struct openvpn_plugin_callbacks cb = {.plugin_log = drive_log};
	struct entry_points ep;
	char config_arg[4200], user_env[128], ip_env[128], port_env[64];
	const char *pargv[3];
	const char *no_env[] = {NULL};
	long fds0 = -1, rss0 = -1, allowed = 0, refused = 0, count, i;
	void *so;
	pid_t helper;

	if (argc != 6 || (count = atol(argv[5])) <= WARMUP) {
		fprintf(stderr, "usage: vpndrive PLUGIN.so CONFIG USER RHOST COUNT(>%d)\n", WARMUP);
		return 2;
	}
	so = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
	if (so == NULL) {
		fprintf(stderr, "%s\n", dlerror());
		return 1;
	}
	*(void **)&ep.open = dlsym(so, "openvpn_plugin_open_v3");
	*(void **)&ep.func = dlsym(so, "openvpn_plugin_func_v3");
	*(void **)&ep.construct = dlsym(so, "openvpn_plugin_client_constructor_v1");
	*(void **)&ep.destruct = dlsym(so, "openvpn_plugin_client_destructor_v1");
	*(void **)&ep.close = dlsym(so, "openvpn_plugin_close_v1");
	snprintf(config_arg, sizeof(config_arg), "config=%s", argv[2]);
	pargv[0] = argv[1];
	pargv[1] = config_arg;
	pargv[2] = NULL;
	{
		struct openvpn_plugin_args_open_in in = {
		    .type_mask = ~0, .argv = pargv, .envp = no_env, .callbacks = &cb};
		struct openvpn_plugin_args_open_return out;

		memset(&out, 0, sizeof(out));
		if (ep.open(OPENVPN_PLUGINv3_STRUCTVER, &in, &out) != OPENVPN_PLUGIN_FUNC_SUCCESS) {
			fprintf(stderr, "open_v3 failed\n");
			return 1;
		}
		helper = helper_pid();
		snprintf(user_env, sizeof(user_env), "username=%s", argv[3]);
		snprintf(ip_env, sizeof(ip_env), "untrusted_ip=%s", argv[4]);
		for (i = 0; i < count; i++) {
			const char *connect_env[] = {user_env, ip_env, port_env, NULL};
			const char *close_env[] = {"bytes_received=1000", "bytes_sent=2000",
			                           "time_duration=0", NULL};
			void *client = ep.construct(out.handle);

			snprintf(port_env, sizeof(port_env), "untrusted_port=%ld",
			         1024 + i % 60000);
			if (call(&ep, out.handle, client, OPENVPN_PLUGIN_CLIENT_CONNECT_V2,
			         connect_env) == OPENVPN_PLUGIN_FUNC_SUCCESS) {
				allowed++;
				(void)call(&ep, out.handle, client,
				           OPENVPN_PLUGIN_CLIENT_DISCONNECT, close_env);
			} else {
				refused++;
			}
			ep.destruct(out.handle, client);
			if (i + 1 == WARMUP) {
				fds0 = count_fds(helper);
				rss0 = rss_kb(helper);
			}
		}
		printf("allowed %ld\nrefused %ld\n", allowed, refused);
		printf("helper_fds %ld %ld\nhelper_rss_kb %ld %ld\n", fds0, count_fds(helper), rss0,
		       rss_kb(helper));
		ep.close(out.handle);
	}
	dlclose(so);
	return 0;
}
