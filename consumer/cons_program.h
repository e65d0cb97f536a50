/*
 * cons_program.h — reads the program file (CONTRACT §5) into proc_program structs.
 *
 * The file is YAML, edited by people, so every error says where it is:
 *
 *     programs.yaml:14: programs[0].tiers[2].min_revenue_minor: tiers must ascend: 200 is
 *     not above the previous tier's 500
 *
 * i.e. `FILE:LINE: KEY: sentence`, where KEY is the full path of the offending key. The
 * first error stops the load. The keys a program may have are declared once, in a table
 * (cons_program.c) that both drives the parser and prints the reference documentation
 * (cons_program_describe); a key not in the table is an error, never silently ignored.
 *
 * After the keys parse, each program also passes proc_program_check() (the cross-field
 * rules shared with processors/), whose complaints are reported at the line of the key
 * they name.
 */
#ifndef CONS_PROGRAM_H
#define CONS_PROGRAM_H

#include <stddef.h>
#include <stdio.h>

#include "proc_program.h"

/* Loads every program of the YAML file at `path`.
 *
 * @returns 0 and sets *programs_out to a heap array of *n_out (>= 1) programs, in file
 *          order, which the caller releases with cons_program_free(); or -1 with
 *          *programs_out = NULL, *n_out = 0 and a NUL-terminated message in err (cut at
 *          errcap bytes), of the form `FILE:LINE: KEY: sentence`. */
int cons_program_load(const char *path, proc_program **programs_out, int *n_out, char *err,
                      size_t errcap);

/* As cons_program_load(), from YAML text in memory; `name_for_errors` stands in for the
 * file name in messages. */
int cons_program_load_string(const char *name_for_errors, const char *text,
                             proc_program **programs_out, int *n_out, char *err,
                             size_t errcap);

/* Releases what cons_program_load() returned. NULL is fine. */
void cons_program_free(proc_program *programs);

/* Writes the reference of every program key as a markdown table (key path, type,
 * default, description), generated from the same table the parser uses. */
void cons_program_describe(FILE *out);

#endif
