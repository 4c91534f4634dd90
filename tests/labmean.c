/*
 * Test helper: the mean CIELAB (D65) colour of raw rgb24 frames on stdin,
 * computed independently of reel's own colour code, so that tests of the
 * colour transfer do not trust the code they test.
 * usage: ffmpeg -i X -vf scale=160:90,format=rgb24 -f rawvideo - |
 *        labmean 160 90          prints "L a b"
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static double
linear(double c)
{
	c /= 255.0;
	return c <= 0.04045 ? c / 12.92 : pow((c + 0.055) / 1.055, 2.4);
}

static double
f_lab(double t)
{
	return t > 216.0 / 24389.0 ? cbrt(t) : (24389.0 / 27.0 * t + 16) / 116;
}

int
main(int argc, char **argv)
{
	double sum[3] = {0, 0, 0}, n = 0;
	unsigned char px[3];
	long w, h;

	if (argc != 3 || (w = atol(argv[1])) <= 0 || (h = atol(argv[2])) <= 0) {
		fprintf(stderr, "usage: labmean WIDTH HEIGHT < rgb24\n");
		return 2;
	}
	while (fread(px, 1, 3, stdin) == 3) {
		double r = linear(px[0]), g = linear(px[1]), b = linear(px[2]);
		double x = (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047;
		double y = 0.2126 * r + 0.7152 * g + 0.0722 * b;
		double z = (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883;

		sum[0] += 116 * f_lab(y) - 16;
		sum[1] += 500 * (f_lab(x) - f_lab(y));
		sum[2] += 200 * (f_lab(y) - f_lab(z));
		n++;
	}
	if (n < (double)(w * h)) {
		fprintf(stderr, "labmean: no whole frame on stdin\n");
		return 1;
	}
	printf("%.3f %.3f %.3f\n", sum[0] / n, sum[1] / n, sum[2] / n);
	return 0;
}
