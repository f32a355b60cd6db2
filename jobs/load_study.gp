# Plots of the load study (jobs/load_study.py writes plot.dat and phases.dat and calls this with
# outdir, term, ext, batch, largest and nmodes set).
set terminal @term
set datafile separator whitespace
set key top left
set grid
set logscale x
set xlabel "images in the dataset"

set output sprintf("%s/throughput.%s", outdir, ext)
set title sprintf("Throughput (search phase), batches of %d queries", batch)
set ylabel "queries per second"
plot for [i=0:nmodes-1] sprintf("%s/plot.dat", outdir) index i using 1:2 with linespoints lw 2 title columnheader(1)

set output sprintf("%s/speedup.%s", outdir, ext)
set title sprintf("Speedup over 1 rank x 1 thread (search phase), batches of %d queries", batch)
set ylabel "speedup"
plot for [i=0:nmodes-1] sprintf("%s/plot.dat", outdir) index i using 1:3 with linespoints lw 2 title columnheader(1)

set output sprintf("%s/efficiency.%s", outdir, ext)
set title "Parallel efficiency = speedup / (ranks x threads)"
set ylabel "efficiency"
set yrange [0:1.2]
plot for [i=0:nmodes-1] sprintf("%s/plot.dat", outdir) index i using 1:4 with linespoints lw 2 title columnheader(1)

unset logscale x
set yrange [*:*]
set output sprintf("%s/phases.%s", outdir, ext)
set title sprintf("Time per phase, %d images, %d queries", largest, batch)
set xlabel ""
set ylabel "seconds"
set style data histograms
set style histogram rowstacked
set style fill solid 0.8 border -1
set boxwidth 0.6
set xrange [-0.5:nmodes-0.5]
set key outside right top
plot sprintf("%s/phases.dat", outdir) using 2:xtic(1) title "read", \
     '' using 3 title "distribute", '' using 4 title "search", '' using 5 title "gather"
