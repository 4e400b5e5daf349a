#ifndef MINDALPHA_CREADLINE_SHIM_H
#define MINDALPHA_CREADLINE_SHIM_H
/* GNU readline and history (Debian: libreadline-dev). stdio.h first: readline.h uses FILE. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <pthread.h>
#include <readline/readline.h>
#include <readline/history.h>

/* Ctrl-C for the REPL. The handler counts it, and when readline is waiting on another thread (the signal went to
   whichever thread does not block it) sends it on to readline's thread at once, so that its read is interrupted
   and the signal event hook, running on that thread, clears the line; while a request runs, the REPL polls the
   count and cancels it. */
static volatile sig_atomic_t mp_sigint_pending = 0;
static volatile sig_atomic_t mp_in_readline = 0;
static pthread_t mp_readline_thread = 0;

static void mp_sigint_handler(int sig) {
    (void)sig;
    mp_sigint_pending = 1;
    if (mp_in_readline && !pthread_equal(pthread_self(), mp_readline_thread)) pthread_kill(mp_readline_thread, SIGINT);
}

static int mp_signal_event_hook(void) {
    if (mp_sigint_pending && mp_in_readline) {
        mp_sigint_pending = 0;
        rl_replace_line("", 0);
        rl_crlf();
        rl_on_new_line();
        rl_redisplay();
        /* On an empty line the redisplay has nothing to change and does not flush: the new prompt would wait in
           the output buffer for the next key. */
        fflush(rl_outstream ? rl_outstream : stdout);
    }
    return 0;
}

/* Installs the handler (no SA_RESTART, so readline's read() is interrupted) and the hook. */
static inline void mp_setup_signals(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = mp_sigint_handler;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;
    sigaction(SIGINT, &sa, NULL);
    rl_catch_signals = 0;
    rl_catch_sigwinch = 1;
    rl_signal_event_hook = mp_signal_event_hook;
}

/* readline() on the calling thread, with Ctrl-C clearing the line. The result is malloc'd (or NULL at EOF).
   The thread may have been started by one that blocks signals (threads inherit the mask, and the runtime's worker
   threads block them): SIGINT is unblocked here, or a Ctrl-C sent to this thread would never interrupt its wait. */
static inline char *mp_readline(const char *prompt) {
    sigset_t interrupt;
    sigemptyset(&interrupt);
    sigaddset(&interrupt, SIGINT);
    pthread_sigmask(SIG_UNBLOCK, &interrupt, NULL);
    mp_sigint_pending = 0;
    mp_readline_thread = pthread_self();
    mp_in_readline = 1;
    char *line = readline(prompt);
    mp_in_readline = 0;
    return line;
}

/* Whether Ctrl-C was pressed since the last call (and forget it). */
static inline int mp_take_sigint(void) {
    int pending = mp_sigint_pending;
    mp_sigint_pending = 0;
    return pending;
}

/* Completion: the words offered, set from Swift before each line. */
static char **mp_completion_words = NULL;
static int mp_completion_count = 0;

static inline void mp_set_completion_words(char **words, int count) {
    for (int i = 0; i < mp_completion_count; i++) free(mp_completion_words[i]);
    free(mp_completion_words);
    mp_completion_words = words;
    mp_completion_count = count;
}

static char *mp_completion_generator(const char *text, int state) {
    static int index;
    static size_t length;
    if (state == 0) { index = 0; length = strlen(text); }
    while (index < mp_completion_count) {
        const char *word = mp_completion_words[index++];
        if (strncmp(word, text, length) == 0) return strdup(word);
    }
    return NULL;
}

/* Words from the list, except after `send @`, where file names are completed. */
static char **mp_attempted_completion(const char *text, int start, int end) {
    (void)end;
    if (start > 0 && rl_line_buffer[start - 1] == '@') return NULL;
    rl_attempted_completion_over = 1;
    return rl_completion_matches(text, mp_completion_generator);
}

static inline void mp_setup_completion(void) {
    rl_attempted_completion_function = mp_attempted_completion;
    rl_completer_word_break_characters = " \t@";
}
#endif
