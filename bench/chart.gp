# The speedups of `evmjit bench` as a bar chart (make bench-chart).
#   gnuplot -e "data='build/bench-chart.tsv'; output='docs/bench.png'" bench/chart.gp
# data: bench/chart_data.py's columns (name, JIT speedup, AOT speedup; "?" = no figure).
# Bars rise from 1x on a logarithmic axis: up is faster than the interpreter, down slower.
if (!exists("data")) data = 'build/bench-chart.tsv'
if (!exists("output")) output = 'docs/bench.png'

set datafile separator "\t"
set datafile missing "?"
set terminal pngcairo size 1600,760 font "sans,10" noenhanced
set output output

stats data using (log10($2)) name "JIT" nooutput
stats data using (log10($3)) name "AOT" nooutput

set title sprintf("evmjit bench: speedup over the interpreter, median time per execution " . \
                  "(geometric mean: JIT %.2fx, AOT %.2fx)", 10**JIT_mean, 10**AOT_mean)
set ylabel "speedup (log scale)"
set ytics ("0.25x" log10(0.25), "0.5x" log10(0.5), "1x" 0, "2x" log10(2), "5x" log10(5), \
           "10x" 1, "20x" log10(20), "50x" log10(50), "100x" 2, "200x" log10(200), \
           "500x" log10(500), "1000x" 3)
# from at most 0.22x to at least 10x, wider when the figures need it, with room above
set yrange [-2 < * < -0.65 : 1 < * < 4]
set offsets 0, 0, 0.12, 0.05
set grid ytics
set xtics rotate by 60 right nomirror
set xrange [-0.7:*]
set key top right
set style fill solid 0.85 noborder
set boxwidth 0.38
set xzeroaxis lt -1
plot data using ($0 - 0.2):(log10($2)):xtic(1) with boxes lc rgb "#2b6cb0" title "JIT", \
     data using ($0 + 0.2):(log10($3)) with boxes lc rgb "#dd6b20" title "AOT"
