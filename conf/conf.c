/* conf.c - what the daemon asks of a loaded configuration: references and
 * the address checks of metrics-allow and [outbound] allow. Loading is in
 * conf_load.c, the keys in conf_schema.c. */
#include "conf.h"

struct conf *
conf_ref(struct conf *conf)
{
	conf->refs++;
	return conf;
}

void
conf_unref(struct conf *conf)
{
	if (conf != NULL && --conf->refs == 0)
		conf_free(conf);
}

bool
conf_metrics_allowed(const struct conf *conf, const struct sockaddr *sa)
{
	for (size_t i = 0; i < conf->n_metrics_allow; i++)
		if (cidr_match(&conf->metrics_allow[i], sa))
			return true;
	return false;
}

bool
conf_outbound_allowed(const struct conf_outbound *ob, const struct sockaddr *sa)
{
	for (size_t i = 0; i < ob->n_allow; i++)
		if (cidr_match(&ob->allow[i], sa))
			return true;
	return false;
}
