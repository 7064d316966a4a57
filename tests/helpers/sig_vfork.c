/* A vfork child resets signal handlers (as Python's subprocess does before exec); the parent's
 * handlers must stay exactly as they were: its signals still reach its handler. */
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helper.h"

static volatile sig_atomic_t ran;

static void handler(int sig)
{
    (void)sig;
    ran++;
}

int main(void)
{
    struct sigaction act = {.sa_handler = handler}; /* no SA_RESTART: the shim puts a trampoline in front */
    sigemptyset(&act.sa_mask);
    if (sigaction(SIGUSR1, &act, NULL))
        die("sigaction: %s", strerror(errno));
    for (volatile int i = 0; i < 3; i++) {
        pid_t pid = vfork();
        if (pid == 0) {
            struct sigaction dfl = {.sa_handler = SIG_DFL};
            sigaction(SIGUSR1, &dfl, NULL);
            _exit(0);
        }
        waitpid(pid, NULL, 0);
    }
    struct sigaction now;
    sigaction(SIGUSR1, NULL, &now);
    printf("parent's handler still installed: %d\n", now.sa_handler == handler);
    raise(SIGUSR1);
    printf("handler ran %d time(s)\n", (int)ran);
    int p[2];
    char c;
    if (pipe(p) || write(p[1], "x", 1) != 1 || read(p[0], &c, 1) != 1)
        die("pipe round trip");
    return 0;
}
