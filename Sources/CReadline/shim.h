#ifndef MINDALPHA_CREADLINE_SHIM_H
#define MINDALPHA_CREADLINE_SHIM_H
/* GNU readline and history (Debian: libreadline-dev). stdio.h first: readline.h uses FILE. */
#include <stdio.h>
#include <readline/readline.h>
#include <readline/history.h>
#endif
