/* Prints the 3-band isolator's level at a set of frequencies: unity, low kill, mid kill, high kill.
 * Built and run by scripts/eq-response.sh against the project's own Sources/CDSP. */
#include "cdsp/cdsp.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static double level(cdsp_eq3 *e, double hz)
{
    const int n = 96000;
    float *x = malloc(sizeof(float) * 2 * n);
    for (int i = 0; i < n; i++) x[2 * i] = x[2 * i + 1] = 0.5f * (float)sin(2 * 3.14159265358979 * hz * i / 48000.0);
    double in = 0, out = 0;
    for (int i = n / 2; i < n; i++) in += (double)x[2 * i] * x[2 * i];
    cdsp_eq3_reset(e);
    cdsp_eq3_process(e, x, n);
    for (int i = n / 2; i < n; i++) out += (double)x[2 * i] * x[2 * i];
    free(x);
    return 10 * log10(out / in);
}

int main(void)
{
    cdsp_status st;
    cdsp_eq3_config c = cdsp_eq3_config_default(48000);
    cdsp_eq3 *e = cdsp_eq3_create(&c, &st);
    const double hz[] = {30, 60, 100, 200, 250, 500, 1000, 2500, 5000, 10000, 16000};
    const int nhz = sizeof hz / sizeof hz[0];
    const char *names[] = {"unity", "low kill", "mid kill", "high kill"};
    printf("%-10s", "dB at Hz");
    for (int i = 0; i < nhz; i++) printf("%9g", hz[i]);
    printf("\n");
    for (int k = 0; k < 4; k++) {
        for (int b = 0; b < 3; b++) cdsp_eq3_set_kill(e, (cdsp_eq3_band)b, k == b + 1, 0);
        printf("%-10s", names[k]);
        for (int i = 0; i < nhz; i++) printf("%9.2f", level(e, hz[i]));
        printf("\n");
    }
    cdsp_eq3_destroy(e);
    return 0;
}
