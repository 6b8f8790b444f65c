// SPDX-License-Identifier: GPL-2.0
/*
 * The tc plugins' value parser (tc_plugin.h's tc_value) as a filter, for the Go test
 * TestPluginParsesAsUnits (tools/units): reads "kind<TAB>value" lines, prints the value
 * it reads, or "error", one line each.
 */
#include "tc_plugin.h"

int main(void)
{
	static const struct {
		const char *name;
		enum tc_opt_kind kind;
	} kinds[] = {
		{ "rate", TC_OPT_RATE }, { "size", TC_OPT_SIZE }, { "u32", TC_OPT_U32 },
		{ "percent", TC_OPT_PERCENT }, { "usec", TC_OPT_USEC }, { "msec", TC_OPT_MSEC },
		{ "u16", TC_OPT_U16_HEX },
	};
	char line[256];

	while (fgets(line, sizeof(line), stdin)) {
		char *tab = strchr(line, '\t'), *nl = strchr(line, '\n');
		size_t i;
		__u64 out;

		if (!tab || !nl)
			return 2;
		*tab = *nl = 0;
		for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]) && strcmp(kinds[i].name, line); i++)
			;
		if (i == sizeof(kinds) / sizeof(kinds[0]))
			return 2;
		if (tc_value(kinds[i].kind, tab + 1, &out)) {
			puts("error");
			continue;
		}
		printf("%llu\n", (unsigned long long)out);
	}
	return 0;
}
