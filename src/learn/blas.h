/*
 * blas.h: the BLAS and LAPACK routines the linear learners use, from the
 * serial OpenBLAS build (no BLAS thread ever runs inside a backend).
 */
#ifndef AUTOML_BLAS_H
#define AUTOML_BLAS_H

#include <stddef.h>
#include <cblas.h>

/* LAPACK Cholesky solve; the trailing size_t is gfortran's hidden length of uplo. */
extern void dposv_(const char *uplo, const int *n, const int *nrhs, double *a,
				   const int *lda, double *b, const int *ldb, int *info, size_t uplo_len);

/* Rows per block in streaming kernels: interrupts are checked between blocks. */
#define LEARN_BLOCK_ROWS 4096

#endif							/* AUTOML_BLAS_H */
